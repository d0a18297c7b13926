// libFuzzer target: parse_packet and parse_embedded (native/core/packet_view.h) on arbitrary bytes, held in a
// heap buffer of exactly the input's length so ASan reports any read past it.
// Invariants:
// - every offset a parse reports lies within the bytes it was given (and the view's length within the input);
// - a refusal names a drop counter;
// - a complete packet that parse_packet accepts reads the same through parse_embedded (the quoted-packet parser
//   differs only in tolerating a cut-short packet).
#include "fuzz_support.h"

using namespace npt66;
using namespace npt66::fuzz;

namespace {

// Reads every byte of the upper layer, so ASan checks the whole range the view claims.
uint32_t touch(const PacketView& v) {
  uint32_t s = 0;
  for (size_t i = v.l4; i < v.len; ++i) s += v.data[i];
  return s;
}

void check_view(const PacketView& v, const uint8_t* data, size_t size, bool complete) {
  NPT66_FUZZ_CHECK(v.data == data, "view points elsewhere");
  NPT66_FUZZ_CHECK(v.len >= ip6::kHeaderLen && v.len <= size, "view length outside the input");
  if (complete) NPT66_FUZZ_CHECK(v.len == ip6::kHeaderLen + (size_t{data[4]} << 8 | data[5]), "length is not 40 + payload");
  if (!v.has_l4) return;
  NPT66_FUZZ_CHECK(v.l4 >= ip6::kHeaderLen && v.l4 <= v.len, "upper-layer offset outside the packet");
  if (v.upper == ip6::kIcmpv6) {
    NPT66_FUZZ_CHECK(v.l4 + 4 <= v.len, "ICMPv6 type read beyond the packet");
    NPT66_FUZZ_CHECK(v.icmp_type == data[v.l4] && v.icmp_code == data[v.l4 + 1], "ICMPv6 type/code");
  }
  static volatile uint32_t sink;
  sink = touch(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes buf(data, data + size);
  uint8_t* p = buf.data();
  PacketView whole, quoted;
  Counter why_whole = Counter::count_, why_quoted = Counter::count_;
  const bool ok_whole = parse_packet(p, size, whole, why_whole);
  const bool ok_quoted = parse_embedded(p, size, quoted, why_quoted);
  if (ok_whole) check_view(whole, p, size, true);
  else NPT66_FUZZ_CHECK(kCounterInfo[static_cast<size_t>(why_whole)].is_drop, "parse_packet refusal names no drop");
  if (ok_quoted) check_view(quoted, p, size, false);
  else NPT66_FUZZ_CHECK(kCounterInfo[static_cast<size_t>(why_quoted)].is_drop, "parse_embedded refusal names no drop");
  if (ok_whole) {
    NPT66_FUZZ_CHECK(ok_quoted, "parse_embedded refused a complete packet");
    NPT66_FUZZ_CHECK(whole.len == quoted.len && whole.upper == quoted.upper && whole.has_l4 == quoted.has_l4 &&
                         whole.fragment == quoted.fragment && (!whole.has_l4 || whole.l4 == quoted.l4) &&
                         whole.icmp_type == quoted.icmp_type && whole.icmp_code == quoted.icmp_code,
                     "parse_packet and parse_embedded disagree on a complete packet");
  }
  NPT66_FUZZ_CHECK(buf == Bytes(data, data + size), "a parser wrote to the packet");
  return 0;
}
