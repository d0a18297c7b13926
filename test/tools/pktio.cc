// pktio: sends and captures raw IPv6 packets on one interface with AF_PACKET, driven line by line on stdin,
// so a namespace test can push thousands of crafted packets through the kernel and read back what arrived.
//
//   pktio IFACE NEXTHOP_MAC
//
// Prints "ready" once the capture socket is bound (packets arriving from then on are kept). Commands:
//   s HEX                           send one IPv6 packet (hex, no link-layer header) to NEXTHOP_MAC
//   sync                            print "sent N FAILED" (totals so far)
//   drain EXPECTED TIMEOUT_MS QUIET_MS
//                                   receive until EXPECTED packets arrived since the last drain or TIMEOUT_MS
//                                   passed, then until nothing arrived for QUIET_MS; print each packet as
//                                   "r HEX" and then "drained N"
// Captured: IPv6 packets received on IFACE (not our own transmissions), except to multicast destinations
// (router solicitations and MLD reports sent when links come up are noise here). EOF on stdin exits.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "pktio: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(const char* s, size_t n, std::vector<uint8_t>& out) {
  out.clear();
  if (n % 2) return false;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

bool parse_mac(const char* s, uint8_t mac[6]) {
  unsigned v[6];
  if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
}

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

class PacketSocket {
 public:
  PacketSocket(const char* iface, const uint8_t mac[6]) {
    // SOCK_DGRAM: the kernel adds and strips the Ethernet header; we deal in IPv6 packets only.
    fd_ = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IPV6));
    if (fd_ < 0) die("socket(AF_PACKET)");
    int ifindex = static_cast<int>(if_nametoindex(iface));
    if (ifindex == 0) die(std::string("no interface ") + iface);
    // Room for a whole batch: we only read the socket during a drain, after every packet was sent.
    int rcvbuf = 64 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
      die("SO_RCVBUF");
    sockaddr_ll bind_to{};
    bind_to.sll_family = AF_PACKET;
    bind_to.sll_protocol = htons(ETH_P_IPV6);
    bind_to.sll_ifindex = ifindex;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) < 0) die("bind");
    to_ = bind_to;
    to_.sll_halen = 6;
    std::memcpy(to_.sll_addr, mac, 6);
  }

  bool send(const std::vector<uint8_t>& packet) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) ==
          static_cast<ssize_t>(packet.size()))
        return true;
      if (errno != ENOBUFS && errno != EAGAIN) return false;
      usleep(1000);  // the device queue is full: let the kernel catch up rather than lose the packet
    }
    return false;
  }

  // One received packet we keep (see the header comment), or false after `wait_ms` without one.
  bool receive(int wait_ms, std::vector<uint8_t>& out) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, wait_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) die("poll");
      if (r == 0) return false;
      sockaddr_ll from{};
      socklen_t fromlen = sizeof from;
      out.resize(65536);
      ssize_t n = recvfrom(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromlen);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recvfrom");
      }
      out.resize(static_cast<size_t>(n));
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      if (n >= 40 && out[24] == 0xFF) continue;  // multicast destination
      return true;
    }
  }

 private:
  int fd_ = -1;
  sockaddr_ll to_{};
};

void print_hex(std::string& buf, const char* tag, const std::vector<uint8_t>& p) {
  static const char* digits = "0123456789abcdef";
  buf += tag;
  for (uint8_t b : p) {
    buf += digits[b >> 4];
    buf += digits[b & 15];
  }
  buf += '\n';
}

}  // namespace

int main(int argc, char** argv) {
  uint8_t mac[6];
  if (argc != 3 || !parse_mac(argv[2], mac)) {
    std::fprintf(stderr, "usage: pktio IFACE NEXTHOP_MAC  (commands on stdin: s HEX | sync | drain N TIMEOUT_MS QUIET_MS)\n");
    return 2;
  }
  PacketSocket sock(argv[1], mac);
  std::ios::sync_with_stdio(false);
  std::cout << "ready" << std::endl;

  uint64_t sent = 0, failed = 0;
  std::vector<uint8_t> packet;
  std::string line, out;
  while (std::getline(std::cin, line)) {
    if (line.rfind("s ", 0) == 0) {
      if (!parse_hex(line.data() + 2, line.size() - 2, packet) || packet.size() < 40) {
        std::fprintf(stderr, "pktio: bad packet line (%zu chars)\n", line.size());
        return 2;
      }
      if (sock.send(packet)) ++sent;
      else ++failed;
    } else if (line == "sync") {
      std::cout << "sent " << sent << ' ' << failed << std::endl;
    } else if (line.rfind("drain ", 0) == 0) {
      long expected = 0, timeout_ms = 0, quiet_ms = 0;
      if (std::sscanf(line.c_str(), "drain %ld %ld %ld", &expected, &timeout_ms, &quiet_ms) != 3) {
        std::fprintf(stderr, "pktio: bad drain line\n");
        return 2;
      }
      out.clear();
      long got = 0;
      const int64_t deadline = now_ms() + timeout_ms;
      while (got < expected) {
        int64_t left = deadline - now_ms();
        if (left <= 0 || !sock.receive(static_cast<int>(left), packet)) break;
        print_hex(out, "r ", packet);
        ++got;
      }
      // Then whatever else is on its way (packets we did not expect are what the test is looking for too).
      while (sock.receive(static_cast<int>(quiet_ms), packet)) {
        print_hex(out, "r ", packet);
        ++got;
      }
      std::cout << out << "drained " << got << std::endl;
    } else if (!line.empty()) {
      std::fprintf(stderr, "pktio: unknown command: %.40s\n", line.c_str());
      return 2;
    }
  }
  return 0;
}
