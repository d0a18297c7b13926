#include "queue_engine.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "queue_error.h"
#include "queue_worker.h"

namespace npt66::nfq {
namespace {

// Packet threads never take signals (Suricata does the same): the process's signal handling stays on the
// JS thread, and a signal can never interrupt a half-built verdict batch. Threads inherit the mask they are
// created with, so it is set around their creation.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

}  // namespace

Engine::Engine(Options options, EventSink emit)
    : options_(std::move(options)),
      emit_(std::move(emit)),
      // A burst of a tenth of a second's worth, so a flood of refusals cannot answer with a burst of errors.
      icmp_limiter_(options_.icmp_rate_limit, std::max<uint32_t>(1, options_.icmp_rate_limit / 10)) {
  if (!options_.table) throw std::invalid_argument("the engine needs a translation table");
  if (options_.queue_count == 0) throw std::invalid_argument("queue count must be at least 1");
  if (uint32_t{options_.queue_first} + options_.queue_count - 1 > 65535)
    throw std::invalid_argument("queue range " + std::to_string(options_.queue_first) + ".." +
                                std::to_string(uint32_t{options_.queue_first} + options_.queue_count - 1) +
                                " goes past queue 65535");
  if (options_.queue_max_len == 0) throw std::invalid_argument("queue max length must be at least 1");
  table_.store(options_.table);
}

Engine::~Engine() { stop(std::chrono::milliseconds(0)); }

void Engine::emit(Event::Type type, std::string message, int queue) const noexcept {
  try {
    if (emit_) emit_(make_event(type, std::move(message), queue));
  } catch (...) {
  }
}

void Engine::start() {
  std::lock_guard<std::mutex> lock(lifecycle_);
  if (state_ != State::idle) throw std::logic_error("the engine has already been started; create a new one");
  QueueWorker::Settings settings;
  settings.queue_max_len = options_.queue_max_len;
  settings.fail_open = options_.fail_open;
  settings.socket.socket_buffer_bytes = options_.socket_buffer_bytes;
  EventSink& sink = emit_;
  try {
    for (uint32_t i = 0; i < options_.queue_count; ++i) {
      auto queue = static_cast<uint16_t>(options_.queue_first + i);
      workers_.push_back(std::make_unique<QueueWorker>(queue, settings, table_, icmp_limiter_, sink));
      workers_.back()->bind();
    }
  } catch (...) {
    workers_.clear();  // each destructor unbinds its queue: nothing stays bound
    throw;
  }
  if (options_.fail_open)
    emit(Event::Type::warning,
         "failOpen is set: packets that cannot be translated, and packets arriving when a queue is full, are "
         "accepted untranslated and leak inside addresses");
  {
    SignalsBlocked blocked;
    for (auto& w : workers_) threads_.emplace_back([worker = w.get()] { worker->run(); });
  }
  state_ = State::running;
  emit(Event::Type::state, "running on queues " + std::to_string(options_.queue_first) + ".." +
                               std::to_string(options_.queue_first + options_.queue_count - 1));
}

void Engine::set_table(std::shared_ptr<const PrefixTable> table) {
  if (!table) throw std::invalid_argument("the engine needs a translation table");
  table_.store(std::move(table), std::memory_order_release);
}

Stats Engine::snapshot() const {
  Stats s;
  std::vector<KernelQueueFigures> kernel = read_kernel_queue_figures();
  for (const auto& w : workers_) {
    QueueStats q;
    q.queue = w->queue();
    accumulate(q.counters, w->counters());
    for (size_t i = 0; i < kCounterCount; ++i) s.total[i] += q.counters[i];
    for (const KernelQueueFigures& k : kernel)
      if (k.queue == w->queue() && k.port_id == w->port_id()) q.kernel = k;
    s.queues.push_back(q);
  }
  std::shared_ptr<const PrefixTable> table = table_.load(std::memory_order_acquire);
  size_t mappings = table ? std::min(table->mappings().size(), MappingCounters::kCapacity) : 0;
  for (uint32_t i = 0; i < mappings; ++i) {
    MappingStats m;
    m.index = i;
    for (const auto& w : workers_) {
      m.outbound += w->mapping_counters().get(i, MappingCounters::outbound);
      m.inbound += w->mapping_counters().get(i, MappingCounters::inbound);
      m.dropped += w->mapping_counters().get(i, MappingCounters::dropped);
    }
    s.mappings.push_back(m);
  }
  return s;
}

void Engine::stop(std::chrono::milliseconds drain) {
  std::lock_guard<std::mutex> lock(lifecycle_);
  if (state_ != State::running) return;
  for (auto& w : workers_) w->request_stop(drain);
  for (auto& t : threads_) t.join();
  threads_.clear();
  state_ = State::stopped;
  emit(Event::Type::state, "stopped");
}

}  // namespace npt66::nfq
