// A failure to set up or talk to a netfilter queue, carrying errno and the system call (Node-style).
#pragma once
#include <stdexcept>
#include <string>

namespace npt66::nfq {

class QueueError : public std::runtime_error {
 public:
  QueueError(int queue, int err, std::string syscall, const std::string& message)
      : std::runtime_error(message), queue_(queue), errno_(err), syscall_(std::move(syscall)) {}
  int queue() const noexcept { return queue_; }
  int error_number() const noexcept { return errno_; }
  const std::string& syscall() const noexcept { return syscall_; }

 private:
  int queue_;
  int errno_;
  std::string syscall_;
};

}  // namespace npt66::nfq
