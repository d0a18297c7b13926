// ============================================================================================================
// PLACE FOR THE NAT66 MASQUERADE MICRO-BENCHMARKS (issue 5), to be filled in once native/core/nat66_*.h lands:
//   - BM_Nat66Lookup/<n>  : outbound + inbound lookup of an existing mapping with n = 1k, 100k, 1M live mappings
//                           (target: <= 30 ns at 1M). Keys drawn at random from the live set, as in mapping_bench.cc.
//   - BM_Nat66Create/<n>  : create a new mapping (port allocation included) on a table already holding n mappings.
//   - BM_Nat66Threads     : the shared table under ->Threads(1)->Threads(2)->Threads(4): lookups (mostly) and
//                           creates from several threads at once, to show how it scales (a flow's two directions
//                           can land on different queue threads, so the table is shared).
// Report with SetItemsProcessed and the ns_per_packet counter, like nptv6_bench.cc.
// ============================================================================================================
