// naive_nfq: the baseline "straightforward C implementation" of an NFQUEUE NPTv6 translator, written the way
// libnetfilter_queue's examples/nf-queue.c teaches: one socket, one recv per packet, one verdict message with
// the whole payload per packet, sent on its own. It uses the same core translate function as npt66, so the
// difference the benchmark shows is the queue handling, not the translation.
// Prints "ready" on stderr once bound, one JSON object of counts on stdout at SIGINT/SIGTERM.
//
//   naive_nfq --map fd01:203:405::/48=2001:db8:1::/48 [--map ...] [--queue-out 0] [--queue-in 1]
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "nptv6.h"
#include "prefix_map.h"

namespace npt66::bench {
namespace {

volatile sig_atomic_t g_stop = 0;

struct Loop {
  mnl_socket* nl = nullptr;
  std::shared_ptr<const PrefixTable> table;
  int queue_out = 0, queue_in = 1;
  CounterBlock counters;
  uint64_t received = 0, translated = 0, accepted = 0, dropped = 0, truncated = 0, enobufs = 0, send_errors = 0;
  std::vector<char> verdict_buf = std::vector<char>(0xFFFF + MNL_SOCKET_BUFFER_SIZE);
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "naive_nfq: %s\n", why);
  std::exit(2);
}

Prefix parse_prefix(const std::string& s) {
  Prefix p;
  auto slash = s.find('/');
  if (slash == std::string::npos || inet_pton(AF_INET6, s.substr(0, slash).c_str(), p.addr.b.data()) != 1)
    usage(("bad prefix " + s).c_str());
  p.len = static_cast<uint8_t>(std::stoi(s.substr(slash + 1)));
  return p;
}

bool send_config(mnl_socket* nl, uint16_t queue, uint8_t cmd) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET6, cmd);
  return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0;
}

bool bind_queue(mnl_socket* nl, uint16_t queue) {
  if (!send_config(nl, queue, NFQNL_CFG_CMD_BIND)) return false;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xFFFF);  // the default COPY_NONE would drop everything
  return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0;
}

void verdict(Loop& l, uint16_t queue, uint32_t id, int v, const uint8_t* payload, size_t len) {
  nlmsghdr* nlh = nfq_nlmsg_put(l.verdict_buf.data(), NFQNL_MSG_VERDICT, queue);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), v);
  if (payload != nullptr) nfq_nlmsg_verdict_put_pkt(nlh, payload, static_cast<uint32_t>(len));
  if (mnl_socket_sendto(l.nl, nlh, nlh->nlmsg_len) < 0) ++l.send_errors;
}

int on_packet(const nlmsghdr* nlh, void* data) {
  Loop& l = *static_cast<Loop*>(data);
  nlattr* attr[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return MNL_CB_OK;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  const uint16_t queue = ntohs(nfg->res_id);
  auto* ph = static_cast<nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
  const uint32_t id = ntohl(ph->packet_id);
  ++l.received;
  if (attr[NFQA_PAYLOAD] == nullptr || attr[NFQA_CAP_LEN] != nullptr) {
    // Truncated: a payload verdict would trim the packet to what we hold. Drop it.
    ++l.truncated;
    ++l.dropped;
    verdict(l, queue, id, NF_DROP, nullptr, 0);
    return MNL_CB_OK;
  }
  auto* pkt = static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
  const size_t len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
  const Direction d = queue == l.queue_out ? Direction::outbound : Direction::inbound;
  const Verdict v = translate_nptv6(*l.table, d, pkt, len, l.counters);
  switch (v.action) {
    case Action::translated:
      ++l.translated;
      verdict(l, queue, id, NF_ACCEPT, pkt, len);
      break;
    case Action::not_ours:
      ++l.accepted;
      verdict(l, queue, id, NF_ACCEPT, nullptr, 0);
      break;
    case Action::drop:
      ++l.dropped;
      verdict(l, queue, id, NF_DROP, nullptr, 0);
      break;
  }
  return MNL_CB_OK;
}

int run(int argc, char** argv) {
  Loop l;
  std::vector<PrefixPair> pairs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--map") {
      auto eq = v.find('=');
      if (eq == std::string::npos) usage("--map INSIDE/LEN=OUTSIDE/LEN");
      pairs.push_back({parse_prefix(v.substr(0, eq)), parse_prefix(v.substr(eq + 1))});
    } else if (a == "--queue-out") l.queue_out = std::stoi(v);
    else if (a == "--queue-in") l.queue_in = std::stoi(v);
    else usage(("unknown option " + a).c_str());
  }
  std::string error;
  l.table = PrefixTable::compile(pairs, error);
  if (!l.table) usage(error.c_str());

  l.nl = mnl_socket_open(NETLINK_NETFILTER);
  if (l.nl == nullptr || mnl_socket_bind(l.nl, 0, MNL_SOCKET_AUTOPID) < 0) { std::perror("naive_nfq: netlink"); return 1; }
  const unsigned portid = mnl_socket_get_portid(l.nl);
  int one = 1;
  mnl_socket_setsockopt(l.nl, NETLINK_NO_ENOBUFS, &one, sizeof one);  // as nf-queue.c does: survive overload
  for (int q : {l.queue_out, l.queue_in}) {
    if (!bind_queue(l.nl, static_cast<uint16_t>(q))) { std::perror("naive_nfq: bind queue"); return 1; }
  }
  std::fprintf(stderr, "ready\n");

  std::vector<char> buf(0xFFFF + MNL_SOCKET_BUFFER_SIZE);
  while (!g_stop) {
    ssize_t n = mnl_socket_recvfrom(l.nl, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { ++l.enobufs; continue; }
      std::perror("naive_nfq: recv");
      break;
    }
    mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, portid, on_packet, &l);
  }
  for (int q : {l.queue_out, l.queue_in}) send_config(l.nl, static_cast<uint16_t>(q), NFQNL_CFG_CMD_UNBIND);
  mnl_socket_close(l.nl);
  std::printf("{\"received\":%llu,\"translated\":%llu,\"accepted\":%llu,\"dropped\":%llu,\"truncated\":%llu,"
              "\"enobufs\":%llu,\"sendErrors\":%llu}\n",
              static_cast<unsigned long long>(l.received), static_cast<unsigned long long>(l.translated),
              static_cast<unsigned long long>(l.accepted), static_cast<unsigned long long>(l.dropped),
              static_cast<unsigned long long>(l.truncated), static_cast<unsigned long long>(l.enobufs),
              static_cast<unsigned long long>(l.send_errors));
  return 0;
}

}  // namespace
}  // namespace npt66::bench

int main(int argc, char** argv) {
  struct sigaction sa{};  // no SA_RESTART: a signal interrupts the blocking recv so the loop can stop
  sa.sa_handler = [](int) { npt66::bench::g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return npt66::bench::run(argc, argv);
}
