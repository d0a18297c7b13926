#include "queue_engine.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "engine_clock.h"
#include "queue_error.h"
#include "ndp_responder.h"
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
  // SO_RCVBUFFORCE / SO_SNDBUFFORCE take an int.
  if (options_.socket_buffer_bytes == 0 || options_.socket_buffer_bytes > uint32_t{INT_MAX})
    throw std::invalid_argument("socket buffer size must be 1.." + std::to_string(INT_MAX) + " bytes");
  if (std::string bad = check_cpus(options_.queue_cpus); !bad.empty()) throw std::invalid_argument("queue CPUs: " + bad);
  if (options_.queue_nice < -20 || options_.queue_nice > 19) throw std::invalid_argument("queue nice must be -20..19");
  if (options_.queue_fifo_priority < 0 || options_.queue_fifo_priority > 99)
    throw std::invalid_argument("queue SCHED_FIFO priority must be 0 (off) or 1..99");
  if (options_.masquerade.size() > MappingCounters::kCapacity)
    throw std::invalid_argument("at most " + std::to_string(MappingCounters::kCapacity) + " masquerade entries");
  for (size_t i = 0; i < options_.masquerade.size(); ++i) {
    std::string error;
    auto t = Nat66Table::create(options_.masquerade[i], error);
    if (!t) throw std::invalid_argument("masquerade[" + std::to_string(i) + "]: " + error);
    masquerade_.push_back(std::move(t));
  }
  table_.store(with_resolved_outdevs(options_.table));
  outside_names_ = options_.outside_interfaces;
  resolve_outside_interfaces(false);  // missing ones are reported by start(): no event before it
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
  QueueWorker::Settings settings;  // every field from options_, where the defaults live
  settings.queue_max_len = options_.queue_max_len;
  settings.fail_open = options_.fail_open;
  settings.gso = options_.gso;
  settings.socket.socket_buffer_bytes = options_.socket_buffer_bytes;
  EventSink& sink = emit_;
  try {
    for (uint32_t i = 0; i < options_.queue_count; ++i) {
      auto queue = static_cast<uint16_t>(options_.queue_first + i);
      settings.placement = placement_for(i, options_.queue_cpus, options_.queue_nice, options_.queue_fifo_priority);
      workers_.push_back(std::make_unique<QueueWorker>(queue, settings, table_, masquerade_, outside_, icmp_limiter_, sink));
      workers_.back()->bind();
    }
  } catch (...) {
    workers_.clear();  // each destructor unbinds its queue: nothing stays bound
    throw;
  }
  resolve_outside_interfaces(true);
  if (options_.fail_open)
    emit(Event::Type::warning,
         "failOpen is set: packets that cannot be translated, and packets arriving when a queue is full, are "
         "accepted untranslated and leak inside addresses");
  {
    SignalsBlocked blocked;
    for (auto& w : workers_) {
      threads_.emplace_back([worker = w.get()] { worker->run(); });
      // Named so top -H, perf and the tuning options' users can tell the threads apart.
      pthread_setname_np(threads_.back().native_handle(), ("npt66-q" + std::to_string(w->queue())).substr(0, 15).c_str());
    }
    if (!masquerade_.empty() || !options_.outside_interfaces.empty()) {
      housekeeper_ = std::thread([this] { housekeeping(); });
      pthread_setname_np(housekeeper_.native_handle(), "npt66-house");
    }
  }
  state_ = State::running;
  emit(Event::Type::state, "running on queues " + std::to_string(options_.queue_first) + ".." +
                               std::to_string(options_.queue_first + options_.queue_count - 1));
}

void Engine::set_outside_interfaces(std::vector<std::string> names) {
  {
    std::lock_guard<std::mutex> lock(outside_mutex_);
    outside_names_ = std::move(names);
  }
  resolve_outside_interfaces(true);
}

void Engine::resolve_outside_interfaces(bool warn) noexcept {
  try {
    std::lock_guard<std::mutex> lock(outside_mutex_);
    ResolvedInterfaces r = resolve_interfaces(outside_names_);
    std::shared_ptr<const OutsideIfindexes> before = outside_.load(std::memory_order_acquire);
    if (!before || *before != r.ifindexes) {
      outside_.store(std::make_shared<const OutsideIfindexes>(std::move(r.ifindexes)), std::memory_order_release);
      if (before && !warn) emit(Event::Type::state, "outside interfaces resolved again (created, deleted or re-created)");
    }
    if (warn && !r.missing.empty()) {
      std::string names;
      for (const std::string& n : r.missing) names += (names.empty() ? "" : ", ") + n;
      emit(Event::Type::warning, "outside interface " + names +
                                     " does not exist (yet): until it does, packets arriving on it are not checked "
                                     "for forged inside sources");
    }
  } catch (...) {  // out of memory: the previous ifindexes stay
  }
}

void Engine::set_table(std::shared_ptr<const PrefixTable> table) {
  if (!table) throw std::invalid_argument("the engine needs a translation table");
  std::lock_guard<std::mutex> lock(outside_mutex_);  // against the housekeeping thread's resolve_outdevs()
  table_.store(with_resolved_outdevs(std::move(table)), std::memory_order_release);
}

void Engine::resolve_outdevs() noexcept {
  try {
    std::lock_guard<std::mutex> lock(outside_mutex_);
    std::shared_ptr<const PrefixTable> before = table_.load(std::memory_order_acquire);
    std::shared_ptr<const PrefixTable> after = with_resolved_outdevs(before);
    if (after != before) table_.store(std::move(after), std::memory_order_release);
  } catch (...) {  // out of memory: the previous ifindexes stay
  }
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
  accumulate(s.total, housekeeping_counters_);
  {
    std::lock_guard<std::mutex> lock(ndp_mutex_);
    if (ndp_) ndp_->add_counters(s.total);
    for (size_t i = 0; i < kCounterCount; ++i) s.total[i] += ndp_final_[i];
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
      m.outbound_bytes += w->mapping_counters().get(i, MappingCounters::outbound_bytes);
      m.inbound_bytes += w->mapping_counters().get(i, MappingCounters::inbound_bytes);
    }
    s.mappings.push_back(m);
  }
  for (uint32_t i = 0; i < masquerade_.size(); ++i) {
    MasqueradeStats m;
    m.index = i;
    m.by_state = masquerade_[i]->counts();
    for (const auto& w : workers_) {
      m.outbound += w->masquerade_counters().get(i, MappingCounters::outbound);
      m.inbound += w->masquerade_counters().get(i, MappingCounters::inbound);
      m.dropped += w->masquerade_counters().get(i, MappingCounters::dropped);
      m.outbound_bytes += w->masquerade_counters().get(i, MappingCounters::outbound_bytes);
      m.inbound_bytes += w->masquerade_counters().get(i, MappingCounters::inbound_bytes);
    }
    s.masquerade.push_back(m);
  }
  return s;
}

std::vector<MappingRecord> Engine::mappings() const {
  std::vector<MappingRecord> out;
  std::vector<Nat66MappingRecord> records;
  std::vector<Nat66Remote> remotes;
  const UnixTime unix_time;
  const uint64_t now_ms = monotonic_ms();
  for (uint32_t i = 0; i < masquerade_.size(); ++i) {
    records.clear();
    remotes.clear();
    masquerade_[i]->snapshot(records, now_ms, &remotes);
    for (Nat66MappingRecord& r : records) {
      r.created_ms = unix_time.from_monotonic(r.created_ms);
      r.last_ms = unix_time.from_monotonic(r.last_ms);
      r.expires_ms = unix_time.from_monotonic(r.expires_ms);
      MappingRecord m{i, r, {remotes.begin() + r.remotes_first, remotes.begin() + r.remotes_first + r.remote_count}};
      for (Nat66Remote& x : m.remotes) x.expires_ms = unix_time.from_monotonic(x.expires_ms);
      out.push_back(std::move(m));
    }
  }
  return out;
}

Nat66Table& Engine::masquerade_at(uint32_t index) const {
  if (index >= masquerade_.size())
    throw std::invalid_argument("masquerade[" + std::to_string(index) + "]: no such masquerade entry (there are " +
                                std::to_string(masquerade_.size()) + ")");
  return *masquerade_[index];
}

void Engine::set_masquerade_sources(uint32_t index, std::vector<Prefix> prefixes) {
  if (std::string error = masquerade_at(index).set_sources(std::move(prefixes)); !error.empty())
    throw std::invalid_argument("masquerade[" + std::to_string(index) + "]: " + error);
  housekeeping_wake_.notify_all();  // remove the mappings of a source that went now, not at the next tick
}

void Engine::set_masquerade_forwards(uint32_t index, std::vector<Nat66Forward> forwards) {
  if (std::string error = masquerade_at(index).set_forwards(std::move(forwards)); !error.empty())
    throw std::invalid_argument("masquerade[" + std::to_string(index) + "]: " + error);
}

void Engine::set_masquerade_tunables(uint32_t index, const Nat66Tunables& t, const std::vector<Nat66Forward>* forwards) {
  if (std::string error = masquerade_at(index).set_tunables(t, forwards); !error.empty())
    throw std::invalid_argument("masquerade[" + std::to_string(index) + "]: " + error);
}

bool Engine::masquerade_holds_ports(uint32_t index, uint16_t lo, uint16_t hi) const {
  return masquerade_at(index).holds_ports(lo, hi);
}

void Engine::set_masquerade_outside(uint32_t index, const std::vector<Address>& use, const std::vector<Address>& keep) {
  if (std::string error = masquerade_at(index).set_outside(use, keep); !error.empty())
    throw std::invalid_argument("masquerade[" + std::to_string(index) + "]: " + error);
  housekeeping_wake_.notify_all();  // remove the mappings of an address that went now, not at the next tick
}

void Engine::housekeeping() noexcept {
  std::unique_lock<std::mutex> lock(housekeeping_mutex_);
  uint64_t outside_resolved_ms = monotonic_ms();
  while (!housekeeping_stop_) {
    housekeeping_wake_.wait_for(lock, options_.housekeeping_interval);
    if (housekeeping_stop_) break;
    lock.unlock();
    const uint64_t now = monotonic_ms();
    expire_and_deliver(now);
    if (now - outside_resolved_ms >= 1000) {
      outside_resolved_ms = now;
      resolve_outside_interfaces(false);
      resolve_outdevs();  // an uplink's interface created or re-created: a new ifindex
    }
    lock.lock();
  }
}

void Engine::expire_and_deliver(uint64_t now_ms) noexcept {
  try {
    Event batch = make_event(Event::Type::mapping, {});
    const UnixTime unix_time;
    for (uint32_t i = 0; i < masquerade_.size(); ++i) {
      masquerade_[i]->remove_stale(now_ms, housekeeping_counters_);
      masquerade_[i]->expire(now_ms, options_.expire_budget, housekeeping_counters_);
      drained_.clear();
      masquerade_[i]->drain_events(drained_);
      for (Nat66MappingEvent& e : drained_) {
        e.time_ms = unix_time.from_monotonic(e.time_ms);
        e.mapping.created_ms = unix_time.from_monotonic(e.mapping.created_ms);
        e.mapping.last_ms = unix_time.from_monotonic(e.mapping.last_ms);
        e.mapping.expires_ms = unix_time.from_monotonic(e.mapping.expires_ms);
        batch.mappings.push_back({i, e});
      }
    }
    if (batch.mappings.empty()) return;
    housekeeping_counters_.add(Counter::engine_mapping_events, batch.mappings.size());
    if (emit_) emit_(std::move(batch));
  } catch (...) {  // out of memory building the batch: these events are lost, the next batch may fit
  }
}

void Engine::set_proxy_ndp(std::vector<NdpProxyEntry> entries) {
  const bool any = !entries.empty();
  std::string error;
  std::shared_ptr<const NdpProxyPolicy> policy = NdpProxyPolicy::compile(std::move(entries), error);
  if (!policy) throw std::invalid_argument(error);
  std::lock_guard<std::mutex> lock(ndp_mutex_);
  if (ndp_stopped_) return;  // after stop(): never answer again for addresses nothing translates any more
  if (!ndp_ && !any) return;
  if (!ndp_) ndp_ = std::make_unique<NdpResponder>(emit_);
  ndp_->set_policy(std::move(policy));
}

void Engine::stop(std::chrono::milliseconds drain) {
  {
    // Before the queues: the answers stop first, as the rules go first in the gateway.
    std::lock_guard<std::mutex> lock(ndp_mutex_);
    if (ndp_) ndp_->add_counters(ndp_final_);
    ndp_.reset();  // joins its thread, closes its sockets
    ndp_stopped_ = true;
  }
  std::lock_guard<std::mutex> lock(lifecycle_);
  if (state_ != State::running) return;
  for (auto& w : workers_) w->request_stop(drain);
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (housekeeper_.joinable()) {
    {
      std::lock_guard<std::mutex> guard(housekeeping_mutex_);
      housekeeping_stop_ = true;
    }
    housekeeping_wake_.notify_all();
    housekeeper_.join();
    // The packet threads are gone: hand over what they queued since the last batch (no expiry: time stops).
    expire_and_deliver(0);
  }
  state_ = State::stopped;
  emit(Event::Type::state, "stopped");
}

}  // namespace npt66::nfq
