#include "prefix_map.h"

#include <algorithm>
#include <bit>

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

bool same(const Prefix& a, const Prefix& b) { return a.len == b.len && hi_of(a) == hi_of(b); }

// RFC 6296 s2.4: one inside prefix behind several uplinks, one entry per outside interface.
bool other_uplink(const PrefixPair& a, const PrefixPair& b) {
  return same(a.inside, b.inside) && !a.interface.empty() && !b.interface.empty() && a.interface != b.interface;
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
      if (x == &p.outside && p.no_outside) continue;  // not known yet: nothing to check
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
    if (!p.no_outside && p.inside.len == p.outside.len && p.inside.addr == p.outside.addr) {
      error = where + "inside and outside are the same prefix";
      return nullptr;
    }
    for (size_t j = 0; j < i; ++j) {
      if (overlap(pairs[j].inside, p.inside) && !other_uplink(pairs[j], p)) {
        error = where + "inside prefix overlaps mapping " + std::to_string(j) +
                "'s inside prefix (one inside prefix may have several entries only with different interfaces)";
        return nullptr;
      }
      if (!p.no_outside && !pairs[j].no_outside && overlap(pairs[j].outside, p.outside)) {
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
    m.no_outside = p.no_outside;
    m.outdev = p.outdev;
    // Several uplinks: the entries after the first with this inside prefix are reached through the first.
    for (size_t j = i; j-- > 0;) {
      if (same(pairs[j].inside, p.inside)) {
        t->mappings_[j].next_uplink = m.index;
        break;
      }
    }
    t->mappings_.push_back(m);
  }
  auto index = [&](std::vector<Bucket>& buckets, bool inside) {
    std::vector<std::vector<std::pair<uint64_t, uint32_t>>> keys;  // per bucket: (masked prefix, mapping)
    for (const Mapping& m : t->mappings_) {
      if (!inside && m.no_outside) continue;  // no outside prefix: inbound matches nothing
      if (inside && std::any_of(t->mappings_.begin(), t->mappings_.begin() + m.index,
                                [&](const Mapping& o) { return same(o.pair.inside, m.pair.inside); }))
        continue;  // a further uplink: found through the first one's next_uplink
      const Prefix& p = inside ? m.pair.inside : m.pair.outside;
      auto it = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& b) { return b.len == p.len; });
      if (it == buckets.end()) {
        it = buckets.insert(buckets.end(), Bucket{p.len, prefix_mask64(p.len), 0, 0, {}});
        keys.emplace_back();
      }
      keys[static_cast<size_t>(it - buckets.begin())].emplace_back(hi_of(p), m.index);
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      Bucket& b = buckets[i];
      size_t slots = 2;
      while (slots < 2 * keys[i].size()) slots *= 2;
      b.slots.assign(slots, Slot{});
      b.slot_mask = slots - 1;
      b.shift = 64 - static_cast<unsigned>(std::countr_zero(slots));
      for (auto [key, mapping] : keys[i]) {
        size_t j = static_cast<size_t>((key * kHashMul) >> b.shift);
        while (b.slots[j].mapping != kEmpty) j = (j + 1) & b.slot_mask;
        b.slots[j] = Slot{key, mapping};
      }
    }
    std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.len > b.len; });
  };
  index(t->by_inside_, true);
  index(t->by_outside_, false);
  if (t->mappings_.size() == 1) {
    const PrefixPair& p = t->mappings_[0].pair;
    t->only_[static_cast<size_t>(Direction::outbound)] = {prefix_mask64(p.inside.len), hi_of(p.inside)};
    t->only_[static_cast<size_t>(Direction::inbound)] = {prefix_mask64(p.outside.len), hi_of(p.outside)};
    if (p.no_outside) t->only_[static_cast<size_t>(Direction::inbound)] = {0, 1};  // (hi & 0) == 1: never
  }
  return t;
}

const Mapping& PrefixTable::uplink_for(const Mapping& first, uint32_t outdev) const noexcept {
  if (outdev != 0) {
    for (const Mapping* m = &first;; m = &mappings_[m->next_uplink]) {
      if (m->outdev == outdev) return *m;
      if (m->next_uplink == UINT32_MAX) break;
    }
  }
  return first;
}

const Mapping* PrefixTable::match_buckets(uint64_t hi, Direction d) const noexcept {
  // Inside (resp. outside) prefixes never overlap (compile() refuses it), so the first hit is the only one.
  for (const Bucket& b : d == Direction::outbound ? by_inside_ : by_outside_) {
    const uint64_t key = hi & b.mask;
    for (size_t i = static_cast<size_t>((key * kHashMul) >> b.shift);; i = (i + 1) & b.slot_mask) {
      const Slot& s = b.slots[i];
      if (s.mapping == kEmpty) break;
      if (s.key == key) return &mappings_[s.mapping];
    }
  }
  return nullptr;
}

}  // namespace npt66
