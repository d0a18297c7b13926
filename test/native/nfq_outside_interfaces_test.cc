// Outside interface names -> ifindexes (native/nfq/outside_interfaces): sorted, no repeats, missing names listed.
#include <gtest/gtest.h>
#include <net/if.h>

#include "outside_interfaces.h"

namespace npt66::nfq {
namespace {

TEST(NfqOutsideInterfaces, NamesResolveSortedOnceAndMissingOnesAreListed) {
  const unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0u);
  ResolvedInterfaces r = resolve_interfaces({"lo", "npt66-nosuch0", "lo"});
  EXPECT_EQ(r.ifindexes, OutsideIfindexes{lo});
  EXPECT_EQ(r.missing, std::vector<std::string>{"npt66-nosuch0"});
  EXPECT_TRUE(resolve_interfaces({}).ifindexes.empty());
}

}  // namespace
}  // namespace npt66::nfq
