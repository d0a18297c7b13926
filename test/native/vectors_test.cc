// Known answers from shared/vectors/nptv6.json (each checked against the kernel's SNPT), both directions.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "prefix_map.h"

namespace npt66 {
namespace {

Prefix parse_prefix(const std::string& s) {
  Prefix p;
  auto slash = s.find('/');
  EXPECT_EQ(inet_pton(AF_INET6, s.substr(0, slash).c_str(), p.addr.b.data()), 1) << s;
  p.len = static_cast<uint8_t>(std::stoi(s.substr(slash + 1)));
  return p;
}

Address parse_address(const std::string& s) {
  Address a;
  EXPECT_EQ(inet_pton(AF_INET6, s.c_str(), a.b.data()), 1) << s;
  return a;
}

TEST(Vectors, KnownAnswersBothWays) {
  std::ifstream f(NPT66_VECTORS_DIR "/nptv6.json");
  ASSERT_TRUE(f.good());
  auto doc = nlohmann::json::parse(f);
  ASSERT_GE(doc["vectors"].size(), 8u);
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    std::string error;
    auto table = PrefixTable::compile({{parse_prefix(v["inside"]), parse_prefix(v["outside"])}}, error);
    ASSERT_TRUE(table) << error;
    Address in = parse_address(v["insideAddress"]), out = parse_address(v["outsideAddress"]);

    Address a = in;
    const Mapping* m = table->match(a, Direction::outbound);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(map_address(*m, Direction::outbound, a), Counter::count_);
    EXPECT_EQ(a, out);

    m = table->match(a, Direction::inbound);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(map_address(*m, Direction::inbound, a), Counter::count_);
    EXPECT_EQ(a, in);
  }
}

}  // namespace
}  // namespace npt66
