// sd_notify without libsystemd (native/nfq/sd_notify.cc): the datagrams arrive, byte for byte, at a socket the
// test binds, by path and in the abstract namespace ("@name" in NOTIFY_SOCKET); no NOTIFY_SOCKET sends nothing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "sd_notify.h"

namespace {

using npt66::nfq::notify_service_manager;

// A bound datagram socket standing in for the service manager. `address` as NOTIFY_SOCKET spells it.
class Manager {
 public:
  explicit Manager(const std::string& address) : address_(address) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.data(), address.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
    if (address[0] == '@') addr.sun_path[0] = '\0';
    else length += 1;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), length), 0) << std::strerror(errno);
  }
  ~Manager() {
    close(fd_);
    if (address_[0] == '/') unlink(address_.c_str());
  }

  // The next datagram, or "" if none is waiting.
  std::string receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string address_;
  int fd_ = -1;
};

std::string unique(const char* what) { return std::string("npt66-test-") + what + "-" + std::to_string(getpid()); }

TEST(SdNotify, SendsEachStateAsOneDatagramToAPath) {
  std::string path = (std::filesystem::temp_directory_path() / (unique("notify") + ".sock")).string();
  Manager manager(path);
  auto r = notify_service_manager(path, "READY=1\nSTATUS=translating 1 mapping");
  EXPECT_TRUE(r.sent) << r.error;
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=translating 1 mapping");
  EXPECT_TRUE(notify_service_manager(path, "RELOADING=1\nMONOTONIC_USEC=123").sent);
  EXPECT_TRUE(notify_service_manager(path, "READY=1").sent);
  EXPECT_TRUE(notify_service_manager(path, "STOPPING=1").sent);
  EXPECT_EQ(manager.receive(), "RELOADING=1\nMONOTONIC_USEC=123");
  EXPECT_EQ(manager.receive(), "READY=1");
  EXPECT_EQ(manager.receive(), "STOPPING=1");
  EXPECT_EQ(manager.receive(), "");
}

TEST(SdNotify, AbstractNamespaceFromTheEnvironment) {
  std::string address = "@" + unique("abstract");
  Manager manager(address);
  setenv("NOTIFY_SOCKET", address.c_str(), 1);
  auto r = notify_service_manager("READY=1");
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(r.sent) << r.error;
  EXPECT_EQ(manager.receive(), "READY=1");
}

TEST(SdNotify, PathFromTheEnvironment) {
  std::string path = (std::filesystem::temp_directory_path() / (unique("env") + ".sock")).string();
  Manager manager(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  auto r = notify_service_manager("STOPPING=1");
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(r.sent) << r.error;
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(SdNotify, NoServiceManagerIsNoError) {
  unsetenv("NOTIFY_SOCKET");
  auto r = notify_service_manager("READY=1");
  EXPECT_FALSE(r.sent);
  EXPECT_EQ(r.error, "");
  setenv("NOTIFY_SOCKET", "", 1);
  EXPECT_FALSE(notify_service_manager("READY=1").sent);
  unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, RefusesAddressesItCannotUse) {
  EXPECT_NE(notify_service_manager("relative/path.sock", "READY=1").error, "");
  EXPECT_NE(notify_service_manager("vsock:2:1234", "READY=1").error, "");
  EXPECT_NE(notify_service_manager("@", "READY=1").error, "");
  EXPECT_NE(notify_service_manager("/" + std::string(200, 'x'), "READY=1").error, "");
  // Nobody bound there: an error, not a crash or a signal.
  auto r = notify_service_manager("/nonexistent-npt66-dir/notify.sock", "READY=1");
  EXPECT_FALSE(r.sent);
  EXPECT_NE(r.error, "");
}

}  // namespace
