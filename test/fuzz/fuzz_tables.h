// The fixed tables the fuzz targets translate with, built once per process (a table per input would make the
// target spend its time building tables), and the addresses the seed writer aims its packets at.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "nat66_table.h"
#include "prefix_map.h"

namespace npt66::fuzz {

inline Prefix parse_prefix(const char* addr, uint8_t len) { return {parse_address(addr), len}; }

// NPTv6 pairs of several lengths: /48 (s3.4, subnet word), /52 and /64 (s3.5, the IID word), and mixed lengths
// whose shorter prefix is zero-extended (s3.7).
inline std::vector<PrefixPair> nptv6_pairs() {
  return {
      {parse_prefix("fd01:203:405::", 48), parse_prefix("2001:db8:1::", 48)},
      {parse_prefix("fd00:aaaa:bbbb:c000::", 52), parse_prefix("2001:db8:2:a000::", 52)},
      {parse_prefix("fd00:1111:2222:3333::", 64), parse_prefix("2001:db8:3:4444::", 64)},
      {parse_prefix("fd03:1::", 48), parse_prefix("2001:db8:7:8::", 64)},
      {parse_prefix("fd04:4:4:4400::", 56), parse_prefix("2001:db8:9::", 48)},
  };
}

inline std::shared_ptr<const PrefixTable> compile_or_abort(const std::vector<PrefixPair>& pairs) {
  std::string error;
  auto t = PrefixTable::compile(pairs, error);
  if (!t) {
    std::fprintf(stderr, "fuzz table: %s\n", error.c_str());
    std::abort();
  }
  return t;
}

// The one-pair table takes another code path (PrefixTable::match_only), so both are fuzzed.
inline const PrefixTable& nptv6_table(bool one_pair) {
  static const auto many = compile_or_abort(nptv6_pairs());
  static const auto one = compile_or_abort({nptv6_pairs()[0]});
  return one_pair ? *one : *many;
}

inline const Address kMasqOutside = parse_address("fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5");
inline const Address kMasqOutside2 = parse_address("2001:db8:ffff::5");
inline const Address kMasqInside = parse_address("fd5a:ceb9:ed8d:1::2");
inline const Address kRemote = parse_address("2001:4860:4860::8888");

// A small masquerade table: a narrow port range, low limits and short (but valid) timers, so that exhaustion,
// the /64 limit, the table limit, quarantine and expiry are all within a fuzz input's reach.
inline Nat66Config small_masquerade_config(Nat66Filtering filtering) {
  Nat66Config c;
  c.inside = {parse_prefix("fd5a:ceb9:ed8d:1::", 64), parse_prefix("fd5a:ceb9:ed8d:100::", 56)};
  c.outside = {kMasqOutside, kMasqOutside2};
  c.port_min = 20000;
  c.port_max = 20063;
  c.keep_privileged_ports = true;  // reach the below-1024 allocation too
  c.timeouts.udp_ms = kNat66MinUdpTimeoutMs;
  c.timeouts.tcp_established_ms = 600'000;
  c.timeouts.tcp_transitory_ms = 60'000;
  c.timeouts.icmp_ms = 30'000;
  c.filtering = filtering;
  c.max_mappings = 200;
  c.max_per_64 = 40;
  c.port_quarantine_ms = 5'000;
  c.event_capacity = 64;
  c.seed = 42;
  return c;
}

inline std::unique_ptr<Nat66Table> create_or_abort(const Nat66Config& c) {
  std::string error;
  auto t = Nat66Table::create(c, error);
  if (!t) {
    std::fprintf(stderr, "fuzz table: %s\n", error.c_str());
    std::abort();
  }
  return t;
}

}  // namespace npt66::fuzz
