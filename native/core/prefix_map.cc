#include "prefix_map.h"

#include <algorithm>

#include "checksum.h"

namespace npt66 {
namespace {

std::string show(const Prefix& p) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i) s += ':';
    uint16_t w = p.addr.word(i);
    bool lead = true;
    for (int sh = 12; sh >= 0; sh -= 4) {
      int d = (w >> sh) & 0xF;
      if (d == 0 && lead && sh != 0) continue;
      lead = false;
      s += hex[d];
    }
  }
  return s + "/" + std::to_string(p.len);
}

bool refused_kind(const Prefix& p) {
  const auto& b = p.addr.b;
  bool zero = std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
  bool loopback = std::all_of(b.begin(), b.end() - 1, [](uint8_t x) { return x == 0; }) && b[15] == 1;
  bool multicast = b[0] == 0xFF;
  bool link_local = b[0] == 0xFE && (b[1] & 0xC0) == 0x80;
  return zero || loopback || multicast || link_local;
}

uint64_t hi_of(const Prefix& p) { return p.addr.high64() & prefix_mask64(p.len); }

bool overlap(const Prefix& a, const Prefix& b) {
  uint8_t l = std::min(a.len, b.len);
  return (hi_of(a) & prefix_mask64(l)) == (hi_of(b) & prefix_mask64(l));
}

}  // namespace

bool has_host_bits(const Prefix& p) noexcept {
  if (p.len > 64) return true;
  for (int i = 8; i < 16; ++i)
    if (p.addr.b[i]) return true;
  return (p.addr.high64() & ~prefix_mask64(p.len)) != 0;
}

std::shared_ptr<const PrefixTable> PrefixTable::compile(const std::vector<PrefixPair>& pairs, std::string& error) {
  auto t = std::make_shared<PrefixTable>();
  for (size_t i = 0; i < pairs.size(); ++i) {
    const PrefixPair& p = pairs[i];
    std::string where = "mapping " + std::to_string(i) + " (" + show(p.inside) + " -> " + show(p.outside) + "): ";
    for (const Prefix* x : {&p.inside, &p.outside}) {
      if (x->len == 0 || x->len > 64) {
        error = where + "prefix length must be 1..64 (RFC 6296 translates the routing prefix only)";
        return nullptr;
      }
      if (has_host_bits(*x)) {
        error = where + show(*x) + " has bits set beyond its length; write the network address";
        return nullptr;
      }
      if (refused_kind(*x)) {
        error = where + show(*x) + " is not a global or unique-local unicast prefix";
        return nullptr;
      }
    }
    if (p.inside.len == p.outside.len && p.inside.addr == p.outside.addr) {
      error = where + "inside and outside are the same prefix";
      return nullptr;
    }
    for (size_t j = 0; j < i; ++j) {
      if (overlap(pairs[j].inside, p.inside)) {
        error = where + "inside prefix overlaps mapping " + std::to_string(j) + "'s inside prefix";
        return nullptr;
      }
      if (overlap(pairs[j].outside, p.outside)) {
        error = where + "outside prefix overlaps mapping " + std::to_string(j) +
                "'s: inbound packets could not tell which inside prefix they belong to";
        return nullptr;
      }
    }
    Mapping m;
    m.pair = p;
    m.index = static_cast<uint32_t>(i);
    m.len = std::max(p.inside.len, p.outside.len);
    m.mask = prefix_mask64(m.len);
    m.inside_hi = hi_of(p.inside);
    m.outside_hi = hi_of(p.outside);
    // s3.1: the prefixes are zero-extended to L, so summing all 16 bytes of the masked prefixes is exact.
    Address in = p.inside.addr, out = p.outside.addr;
    m.adjustment = csum::sub(csum::sum_address(in), csum::sum_address(out));
    t->mappings_.push_back(m);
  }
  auto index = [&](std::vector<Bucket>& buckets, bool inside) {
    for (const Mapping& m : t->mappings_) {
      const Prefix& p = inside ? m.pair.inside : m.pair.outside;
      auto it = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& b) { return b.len == p.len; });
      if (it == buckets.end()) it = buckets.insert(buckets.end(), Bucket{p.len, prefix_mask64(p.len), {}});
      it->keys.emplace_back(hi_of(p), m.index);
    }
    std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.len > b.len; });
    for (Bucket& b : buckets) std::sort(b.keys.begin(), b.keys.end());
  };
  index(t->by_inside_, true);
  index(t->by_outside_, false);
  return t;
}

const Mapping* PrefixTable::lookup(const std::vector<Bucket>& buckets, uint64_t hi) const noexcept {
  for (const Bucket& b : buckets) {
    uint64_t key = hi & b.mask;
    if (b.keys.size() == 1) {
      if (b.keys[0].first == key) return &mappings_[b.keys[0].second];
      continue;
    }
    auto it = std::lower_bound(b.keys.begin(), b.keys.end(), std::pair<uint64_t, uint32_t>{key, 0});
    if (it != b.keys.end() && it->first == key) return &mappings_[it->second];
  }
  return nullptr;
}

const Mapping* PrefixTable::match(const Address& a, Direction d) const noexcept {
  return lookup(d == Direction::outbound ? by_inside_ : by_outside_, a.high64());
}

Counter map_address(const Mapping& m, Direction d, Address& a) noexcept {
  const bool out = d == Direction::outbound;
  const uint64_t from = out ? m.inside_hi : m.outside_hi;
  const uint64_t to = out ? m.outside_hi : m.inside_hi;
  uint64_t hi = a.high64();
  // s3.7: the shorter prefix is zero-extended, so the bits between the two lengths must be zero.
  if ((hi & m.mask) != from) return Counter::drop_outside_mapped_range;

  Address r = a;
  hi = (hi & ~m.mask) | to;
  for (int i = 0; i < 8; ++i) r.b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));

  int word;
  if (m.len <= 48) {  // s3.4: the subnet word takes the adjustment
    if (a.word(3) == 0xFFFF) return Counter::drop_subnet_ffff;  // s4.2: 0xFFFF == 0x0000 in one's complement
    word = 3;
  } else {  // s3.5: the first of words 4..7 that is not 0xFFFF
    word = 4;
    while (word < 8 && a.word(word) == 0xFFFF) ++word;
    if (word == 8) return Counter::drop_iid_all_ones;
  }
  uint16_t w = out ? csum::add(a.word(word), m.adjustment) : csum::sub(a.word(word), m.adjustment);
  if (w == 0xFFFF) w = 0;  // s3.2: 0xFFFF is written as 0x0000
  r.set_word(word, w);

  uint64_t iid = 0, iid_before = 0;
  for (int i = 8; i < 16; ++i) iid = iid << 8 | r.b[i], iid_before = iid_before << 8 | a.b[i];
  if (iid == ~uint64_t{0}) return Counter::drop_iid_all_ones;
  // Subnet-router anycast (RFC 4291 s2.6.1), as a result *or as the input*: with L > 48 the anycast address
  // maps to an ordinary address whose reverse mapping is the anycast one again, so accepting it on one side
  // only would translate a packet whose replies are then refused. Refusing both keeps the mapping a bijection.
  if (iid == 0 || iid_before == 0) return Counter::drop_result_anycast;
  a = r;
  return Counter::count_;
}

}  // namespace npt66
