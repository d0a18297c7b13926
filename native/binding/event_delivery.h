// The engine's rare events (warnings, state, addresses, mapping events) from any native thread to JS: collected
// under a mutex and handed to `onEvents` in batches by one Napi::ThreadSafeFunction call. Never per packet.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine_event.h"
#include "masquerade_convert.h"

namespace npt66::binding {

// Rare events from any thread reach JS in batches: they collect under a mutex, and one ThreadSafeFunction call
// (scheduled only when none is pending) hands the whole batch to `onEvents` on the JS thread.
class EventDelivery : public std::enable_shared_from_this<EventDelivery> {
 public:
  void open(Napi::Env env, Napi::Function on_events) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, on_events, "npt66-engine-events", 0, 1);
    tsfn_.Unref(env);  // only a running engine keeps the process alive
  }
  void ref(Napi::Env env) { tsfn_.Ref(env); }
  void unref(Napi::Env env) { tsfn_.Unref(env); }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    tsfn_.Release();
  }

  // Any thread.
  void push(nfq::Event e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    if (e.type == nfq::Event::Type::mapping) {
      // A JS thread that stops taking events must not make mapping events pile up without bound.
      if (pending_mappings_ + e.mappings.size() > kMaxPendingMappings) {
        dropped_mappings_ += e.mappings.size();
        return;
      }
      pending_mappings_ += e.mappings.size();
    }
    if (dropped_mappings_ != 0 && pending_mappings_ < kMaxPendingMappings / 2) {
      pending_.push_back(nfq::make_event(nfq::Event::Type::warning,
                                         std::to_string(dropped_mappings_) +
                                             " mapping events dropped: the JS thread did not take them in time"));
      dropped_mappings_ = 0;
    }
    pending_.push_back(std::move(e));
    if (scheduled_) return;
    scheduled_ = true;
    auto self = shared_from_this();
    if (tsfn_.NonBlockingCall([self](Napi::Env env, Napi::Function cb) { self->deliver(env, cb); }) != napi_ok)
      scheduled_ = false;
  }

 private:
  // JS thread.
  void deliver(Napi::Env env, Napi::Function cb) {
    std::vector<nfq::Event> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(pending_);
      pending_mappings_ = 0;
      scheduled_ = false;
    }
    if (env == nullptr || cb.IsEmpty() || batch.empty()) return;
    // A mapping batch becomes one JS event per mapping event, all in the same call.
    Napi::Array a = Napi::Array::New(env);
    uint32_t n = 0;
    for (const nfq::Event& e : batch) {
      if (e.type == nfq::Event::Type::mapping) {
        for (const nfq::MappingEvent& m : e.mappings) a.Set(n++, mapping_event(env, m));
        continue;
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("type", e.type == nfq::Event::Type::warning ? "warning"
                    : e.type == nfq::Event::Type::error   ? "error"
                    : e.type == nfq::Event::Type::address ? "address"
                                                          : "state");
      if (e.type == nfq::Event::Type::address) o.Set("interface", e.interface);
      o.Set("message", e.message);
      if (e.queue >= 0) o.Set("queue", e.queue);
      o.Set("time", e.time_ms);
      a.Set(n++, o);
    }
    if (n != 0) cb.Call({a});
  }

  static Napi::Object mapping_event(Napi::Env env, const nfq::MappingEvent& m) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", "mapping");
    o.Set("event", to_string(m.event.type));
    o.Set("message", describe_mapping_event(m.event.type, m.event.mapping));
    o.Set("time", static_cast<double>(m.event.time_ms));
    o.Set("mapping", from_mapping_record(env, m.masquerade, m.event.mapping));
    return o;
  }

  static constexpr size_t kMaxPendingMappings = 1u << 20;

  std::mutex mutex_;
  std::vector<nfq::Event> pending_;
  size_t pending_mappings_ = 0;
  uint64_t dropped_mappings_ = 0;
  bool scheduled_ = false;
  bool closed_ = false;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace npt66::binding
