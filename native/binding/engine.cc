#include "engine.h"

#include <errno.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "convert.h"
#include "event_delivery.h"
#include "masquerade_convert.h"
#include "queue_error.h"

namespace npt66::binding {

namespace {

// Conversions only: an option left out keeps nfq::Options' default (queue_engine.h, where the native defaults
// live), a given one must fit the C++ type. Ranges are the schema's (src/gateway-config.ts) and the invariants the
// engine's (its std::invalid_argument becomes ERR_NPT66_CONFIG below).
template <typename T>
T to_integer(Napi::Env env, const Napi::Value& v, const std::string& what) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
  constexpr auto lo = std::numeric_limits<T>::min();
  constexpr auto hi = std::numeric_limits<T>::max();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw_error(env, "ERR_NPT66_CONFIG",
                what + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<T>(d);
}

template <typename T>
void optional_integer(Napi::Env env, const Napi::Object& o, const char* key, T& out) {
  Napi::Value v = o.Get(key);
  if (!v.IsUndefined()) out = to_integer<T>(env, v, key);
}

void optional_boolean(Napi::Env env, const Napi::Object& o, const char* key, bool& out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  if (!v.IsBoolean()) throw_error(env, "ERR_NPT66_CONFIG", std::string(key) + " must be a boolean");
  out = v.As<Napi::Boolean>().Value();
}

// The engine checks that each is a CPU this process may use.
void optional_cpus(Napi::Env env, const Napi::Object& o, const char* key, std::vector<int>& out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  if (!v.IsArray()) throw_error(env, "ERR_NPT66_CONFIG", std::string(key) + " must be an array of CPU numbers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i)
    out.push_back(to_integer<int>(env, a.Get(i), std::string(key) + "[" + std::to_string(i) + "]"));
}

// Interface names (undefined: none). The engine resolves them to ifindexes (native/nfq/outside_interfaces.h).
std::vector<std::string> interface_names(Napi::Env env, const Napi::Value& v, const std::string& what) {
  std::vector<std::string> names;
  if (v.IsUndefined()) return names;
  if (!v.IsArray()) throw_error(env, "ERR_NPT66_CONFIG", what + " must be an array of interface names");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value name = a.Get(i);
    if (!name.IsString() || name.As<Napi::String>().Utf8Value().empty())
      throw_error(env, "ERR_NPT66_CONFIG", what + "[" + std::to_string(i) + "] must be an interface name");
    names.push_back(name.As<Napi::String>().Utf8Value());
  }
  return names;
}

[[noreturn]] void throw_queue_error(Napi::Env env, const nfq::QueueError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, "ERR_NPT66_QUEUE"));
  err.Set("errno", Napi::Number::New(env, -e.error_number()));  // negative, as Node's system errors
  err.Set("syscall", Napi::String::New(env, e.syscall()));
  err.Set("queue", Napi::Number::New(env, e.queue()));
  throw err;
}

Napi::Value kernel_figures(Napi::Env env, const std::optional<nfq::KernelQueueFigures>& k) {
  if (!k) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("portId", static_cast<double>(k->port_id));
  o.Set("queueTotal", static_cast<double>(k->queue_total));
  o.Set("copyMode", static_cast<double>(k->copy_mode));
  o.Set("copyRange", static_cast<double>(k->copy_range));
  o.Set("queueDropped", static_cast<double>(k->queue_dropped));
  o.Set("userDropped", static_cast<double>(k->user_dropped));
  o.Set("idSequence", static_cast<double>(k->id_sequence));
  return o;
}

// stop() off the JS thread: draining takes at least the quiet period, joining the threads longer.
class StopWorker : public Napi::AsyncWorker {
 public:
  StopWorker(Napi::Env env, nfq::Engine* engine, std::chrono::milliseconds drain,
             std::shared_ptr<EventDelivery> events, Napi::Object self)
      : Napi::AsyncWorker(env, "npt66-engine-stop"),
        engine_(engine),
        drain_(drain),
        events_(std::move(events)),
        deferred_(Napi::Promise::Deferred::New(env)),
        self_(Napi::Persistent(self)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { engine_->stop(drain_); }
  void OnOK() override {
    events_->unref(Env());
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  nfq::Engine* engine_;
  std::chrono::milliseconds drain_;
  std::shared_ptr<EventDelivery> events_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;  // keeps the JS object (and so the engine) alive until stop completes
};

// Masquerade entry `index` from info[0] and its field prefix "masquerade[i]"; ERR_NPT66_CONFIG naming `method`
// when it is not a number.
struct MasqueradeIndex {
  uint32_t index;
  std::string field;
};
MasqueradeIndex masquerade_index(const Napi::CallbackInfo& info, const char* method) {
  if (!info[0].IsNumber()) throw_error(info.Env(), "ERR_NPT66_CONFIG", std::string(method) + ": index must be a number");
  const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  return {index, "masquerade[" + std::to_string(index) + "]"};
}

// Runs a change the table may refuse (std::invalid_argument, nothing changed): ERR_NPT66_CONFIG with its reason.
template <class F>
Napi::Value refusable(Napi::Env env, F change) {
  try {
    change();
  } catch (const std::invalid_argument& e) {
    throw_error(env, "ERR_NPT66_CONFIG", e.what());
  }
  return env.Undefined();
}

}  // namespace

Napi::Object engine_defaults(Napi::Env env) {
  const nfq::Options d;
  Napi::Object o = Napi::Object::New(env);
  o.Set("queueFirst", d.queue_first);
  o.Set("queueCount", d.queue_count);
  o.Set("queueMaxLen", d.queue_max_len);
  o.Set("socketBufferBytes", d.socket_buffer_bytes);
  o.Set("failOpen", d.fail_open);
  o.Set("gso", d.gso);
  o.Set("icmpRateLimit", d.icmp_rate_limit);
  o.Set("queueNice", d.queue_nice);
  o.Set("queueFifoPriority", d.queue_fifo_priority);
  o.Set("masquerade", masquerade_defaults(env));
  return o;
}

Napi::Function Engine::Define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod<&Engine::Start>("start"), InstanceMethod<&Engine::SetMappings>("setMappings"),
                      InstanceMethod<&Engine::SetOutsideInterfaces>("setOutsideInterfaces"),
                      InstanceMethod<&Engine::SetMasqueradeSources>("setMasqueradeSources"),
                      InstanceMethod<&Engine::SetMasqueradeForwards>("setMasqueradeForwards"),
                      InstanceMethod<&Engine::SetMasqueradeAddresses>("setMasqueradeAddresses"),
                      InstanceMethod<&Engine::SetMasqueradeTunables>("setMasqueradeTunables"),
                      InstanceMethod<&Engine::MasqueradeHoldsPorts>("masqueradeHoldsPorts"),
                      InstanceMethod<&Engine::WatchAddresses>("watchAddresses"),
                      InstanceMethod<&Engine::SetProxyNdp>("setProxyNdp"),
                      InstanceMethod<&Engine::Stats>("stats"), InstanceMethod<&Engine::Mappings>("mappings"),
                      InstanceMethod<&Engine::Stop>("stop")});
}

// new Engine({queueFirst, queueCount, queueMaxLen?, socketBufferBytes?, failOpen?, gso?, icmpRateLimit?, queueCpus?,
// queueNice?, queueFifoPriority?, mappings, masquerade?, outsideInterfaces?, onEvents})
Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_error(env, "ERR_NPT66_INVALID_ARG", "options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("onEvents").IsFunction()) throw_error(env, "ERR_NPT66_INVALID_ARG", "onEvents must be a function");
  nfq::Options options;
  optional_integer(env, o, "queueFirst", options.queue_first);
  optional_integer(env, o, "queueCount", options.queue_count);
  optional_integer(env, o, "queueMaxLen", options.queue_max_len);
  optional_integer(env, o, "socketBufferBytes", options.socket_buffer_bytes);
  optional_integer(env, o, "icmpRateLimit", options.icmp_rate_limit);
  optional_cpus(env, o, "queueCpus", options.queue_cpus);
  optional_integer(env, o, "queueNice", options.queue_nice);
  optional_integer(env, o, "queueFifoPriority", options.queue_fifo_priority);
  optional_boolean(env, o, "failOpen", options.fail_open);
  optional_boolean(env, o, "gso", options.gso);
  options.table = to_table(env, o.Get("mappings"));
  options.masquerade = to_masquerade(env, o.Get("masquerade"));
  options.outside_interfaces = interface_names(env, o.Get("outsideInterfaces"), "outsideInterfaces");

  events_ = std::make_shared<EventDelivery>();
  events_->open(env, o.Get("onEvents").As<Napi::Function>());
  std::shared_ptr<EventDelivery> events = events_;
  try {
    engine_ = std::make_unique<nfq::Engine>(std::move(options), [events](nfq::Event e) { events->push(std::move(e)); });
  } catch (const std::invalid_argument& e) {
    events_->close();
    throw_error(env, "ERR_NPT66_CONFIG", e.what());
  }
  // Threads must be joined (and queues unbound) before the environment goes away, e.g. at process exit.
  cleanup_hook_ = napi_add_env_cleanup_hook(env, &Engine::OnEnvCleanup, this) == napi_ok;
}

Engine::~Engine() {
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, &Engine::OnEnvCleanup, this);
  watch_.reset();
  engine_.reset();  // stops (no drain) if still running
  if (events_) events_->close();
}

void Engine::OnEnvCleanup(void* self) {
  auto* e = static_cast<Engine*>(self);
  e->cleanup_hook_ = false;
  e->watch_.reset();
  if (e->engine_) e->engine_->stop(std::chrono::milliseconds(0));
  if (e->events_) e->events_->close();
}

Napi::Value Engine::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    engine_->start();
  } catch (const nfq::QueueError& e) {
    throw_queue_error(env, e);
  } catch (const std::logic_error& e) {
    throw_error(env, "ERR_NPT66_STATE", e.what());
  }
  events_->ref(env);
  return env.Undefined();
}

// setOutsideInterfaces(names): the engine resolves them (a missing one is a warning event).
Napi::Value Engine::SetOutsideInterfaces(const Napi::CallbackInfo& info) {
  engine_->set_outside_interfaces(interface_names(info.Env(), info[0], "outsideInterfaces"));
  return info.Env().Undefined();
}

// watchAddresses(): from now on, an 'address' event whenever an interface's global IPv6 addresses change
// (nfq::AddressWatch); subscribed before this returns. Idempotent; ends with stop().
Napi::Value Engine::WatchAddresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (watch_) return env.Undefined();
  std::shared_ptr<EventDelivery> events = events_;
  try {
    watch_ = std::make_unique<nfq::AddressWatch>([events](uint32_t ifindex, const std::string& name) {
      nfq::Event e = nfq::make_event(nfq::Event::Type::address,
                                     ifindex == 0 ? "address notices lost: every interface is read again"
                                                  : "IPv6 addresses of " + (name.empty() ? "ifindex " + std::to_string(ifindex) : name) + " changed");
      e.interface = name;
      events->push(std::move(e));
    });
  } catch (const std::system_error& e) {
    throw_error(env, "ERR_NPT66_QUEUE", std::string("cannot watch address changes: ") + e.what());
  }
  return env.Undefined();
}

// setProxyNdp([{inside, insideLength, outside, outsideLength, interface, mode: 'neighbours' | 'prefix',
// neighbours: Buffer(16)[]}]): the entries npt66 answers Neighbor Solicitations for from now on
// (nfq::NdpResponder). ERR_NPT66_CONFIG, entries unchanged, when they do not compile.
Napi::Value Engine::SetProxyNdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw_error(env, "ERR_NPT66_INVALID_ARG", "setProxyNdp: entries must be an array");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<NdpProxyEntry> entries;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (!a.Get(i).IsObject()) throw_error(env, "ERR_NPT66_INVALID_ARG", "setProxyNdp: each entry must be an object");
    Napi::Object o = a.Get(i).As<Napi::Object>();
    NdpProxyEntry e;
    e.pair.inside.addr = to_address(env, o.Get("inside"), "inside");
    e.pair.inside.len = to_prefix_length(env, o.Get("insideLength"), "insideLength");
    e.pair.outside.addr = to_address(env, o.Get("outside"), "outside");
    e.pair.outside.len = to_prefix_length(env, o.Get("outsideLength"), "outsideLength");
    if (Napi::Value name = o.Get("interface"); name.IsString()) e.pair.interface = name.As<Napi::String>().Utf8Value();
    const std::string mode = o.Get("mode").ToString().Utf8Value();
    if (mode != "neighbours" && mode != "prefix")
      throw_error(env, "ERR_NPT66_INVALID_ARG", "setProxyNdp: mode must be 'neighbours' or 'prefix'");
    e.mode = mode == "prefix" ? NdpProxyMode::prefix : NdpProxyMode::neighbours;
    Napi::Value list = o.Get("neighbours");
    if (list.IsArray()) {
      Napi::Array n = list.As<Napi::Array>();
      for (uint32_t j = 0; j < n.Length(); ++j) e.neighbours.push_back(to_address(env, n.Get(j), "neighbours[]"));
    }
    entries.push_back(std::move(e));
  }
  try {
    engine_->set_proxy_ndp(std::move(entries));
  } catch (const std::invalid_argument& e) {
    throw_error(env, "ERR_NPT66_CONFIG", e.what());
  } catch (const std::system_error& e) {
    throw_error(env, "ERR_NPT66_QUEUE", std::string("cannot start the proxy NDP responder: ") + e.what());
  }
  return env.Undefined();
}

// setMasqueradeSources(index, sources): masquerade entry `index`'s source prefixes from now on (sources as in
// NativeMasquerade). ERR_NPT66_CONFIG, sources unchanged, for a bad index or prefixes the table refuses.
Napi::Value Engine::SetMasqueradeSources(const Napi::CallbackInfo& info) {
  const auto [index, field] = masquerade_index(info, "setMasqueradeSources");
  std::vector<Prefix> prefixes = to_masquerade_sources(info.Env(), info[1], field + ".sources");
  return refusable(info.Env(), [&] { engine_->set_masquerade_sources(index, std::move(prefixes)); });
}

// setMasqueradeForwards(index, forwards): masquerade entry `index`'s port forwards from now on (forwards as in
// NativeMasquerade). ERR_NPT66_CONFIG, forwards unchanged, for a bad index or forwards the table refuses.
Napi::Value Engine::SetMasqueradeForwards(const Napi::CallbackInfo& info) {
  const auto [index, field] = masquerade_index(info, "setMasqueradeForwards");
  std::vector<Nat66Forward> forwards = to_masquerade_forwards(info.Env(), info[1], field + ".forwards");
  return refusable(info.Env(), [&] { engine_->set_masquerade_forwards(index, std::move(forwards)); });
}

// setMasqueradeAddresses(index, use, keep): masquerade entry `index`'s outside addresses from now on (16-byte
// Buffers): new flows take one of `use` (may be empty: refused), mappings on `keep` live on, the rest go.
// ERR_NPT66_CONFIG, addresses unchanged, for a bad index or addresses the table refuses.
Napi::Value Engine::SetMasqueradeAddresses(const Napi::CallbackInfo& info) {
  const auto [index, field] = masquerade_index(info, "setMasqueradeAddresses");
  const std::vector<Address> use = to_masquerade_addresses(info.Env(), info[1], field + ".addresses");
  const std::vector<Address> keep = to_masquerade_addresses(info.Env(), info[2], field + ".kept");
  return refusable(info.Env(), [&] { engine_->set_masquerade_outside(index, use, keep); });
}

// setMasqueradeTunables(index, masquerade): masquerade entry `index`'s port range, privileged ports, filtering,
// inbound refresh, timeouts and limits from now on, taken from a whole NativeMasquerade (its sources and addresses
// are only validated); with masquerade.forwards, those forwards too (the full set), checked with the range.
// ERR_NPT66_CONFIG, nothing changed, for a bad index or values the table refuses.
Napi::Value Engine::SetMasqueradeTunables(const Napi::CallbackInfo& info) {
  const auto [index, field] = masquerade_index(info, "setMasqueradeTunables");
  const Nat66Config c = to_masquerade_entry(info.Env(), info[1], field);
  const bool with_forwards = info[1].IsObject() && !info[1].As<Napi::Object>().Get("forwards").IsUndefined();
  return refusable(info.Env(), [&] { engine_->set_masquerade_tunables(index, tunables_of(c), with_forwards ? &c.forwards : nullptr); });
}

// masqueradeHoldsPorts(index, min, max): whether a mapping of entry `index` holds a TCP/UDP port of [min, max].
Napi::Value Engine::MasqueradeHoldsPorts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (size_t i = 0; i < 3; ++i)
    if (!info[i].IsNumber()) throw_error(env, "ERR_NPT66_INVALID_ARG", "masqueradeHoldsPorts(index, min, max): numbers");
  const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  const uint32_t lo = info[1].As<Napi::Number>().Uint32Value(), hi = info[2].As<Napi::Number>().Uint32Value();
  if (lo > hi || hi > 65535) throw_error(env, "ERR_NPT66_INVALID_ARG", "masqueradeHoldsPorts: need 0 <= min <= max <= 65535");
  try {
    return Napi::Boolean::New(env, engine_->masquerade_holds_ports(index, static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)));
  } catch (const std::invalid_argument& e) {
    throw_error(env, "ERR_NPT66_CONFIG", e.what());
  }
}

Napi::Value Engine::SetMappings(const Napi::CallbackInfo& info) {
  // to_table throws ERR_NPT66_CONFIG before anything changes: on error the old table stays.
  engine_->set_table(to_table(info.Env(), info[0]));
  return info.Env().Undefined();
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nfq::Stats s = engine_->snapshot();
  Napi::Array queues = Napi::Array::New(env, s.queues.size());
  for (size_t i = 0; i < s.queues.size(); ++i) {
    Napi::Object q = Napi::Object::New(env);
    q.Set("queue", s.queues[i].queue);
    q.Set("counters", from_counters(env, s.queues[i].counters));
    q.Set("kernel", kernel_figures(env, s.queues[i].kernel));
    queues.Set(static_cast<uint32_t>(i), q);
  }
  Napi::Array mappings = Napi::Array::New(env, s.mappings.size());
  for (size_t i = 0; i < s.mappings.size(); ++i) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("index", s.mappings[i].index);
    m.Set("outbound", static_cast<double>(s.mappings[i].outbound));
    m.Set("inbound", static_cast<double>(s.mappings[i].inbound));
    m.Set("dropped", static_cast<double>(s.mappings[i].dropped));
    m.Set("outboundBytes", static_cast<double>(s.mappings[i].outbound_bytes));
    m.Set("inboundBytes", static_cast<double>(s.mappings[i].inbound_bytes));
    mappings.Set(static_cast<uint32_t>(i), m);
  }
  Napi::Array masquerade = Napi::Array::New(env, s.masquerade.size());
  for (size_t i = 0; i < s.masquerade.size(); ++i) {
    const nfq::MasqueradeStats& m = s.masquerade[i];
    Napi::Object by_state = Napi::Object::New(env);
    by_state.Set(to_string(Nat66State::udp), static_cast<double>(m.by_state.udp));
    by_state.Set(to_string(Nat66State::tcp_transitory), static_cast<double>(m.by_state.tcp_transitory));
    by_state.Set(to_string(Nat66State::tcp_established), static_cast<double>(m.by_state.tcp_established));
    by_state.Set(to_string(Nat66State::icmp), static_cast<double>(m.by_state.icmp));
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", m.index);
    o.Set("live", static_cast<double>(m.by_state.total()));
    o.Set("byState", by_state);
    o.Set("outbound", static_cast<double>(m.outbound));
    o.Set("inbound", static_cast<double>(m.inbound));
    o.Set("dropped", static_cast<double>(m.dropped));
    o.Set("outboundBytes", static_cast<double>(m.outbound_bytes));
    o.Set("inboundBytes", static_cast<double>(m.inbound_bytes));
    masquerade.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("queues", queues);
  r.Set("total", from_counters(env, s.total));
  r.Set("mappings", mappings);
  r.Set("masquerade", masquerade);
  return r;
}

// mappings(): NativeMappingRecord[], a snapshot of every live masquerade mapping.
Napi::Value Engine::Mappings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<nfq::MappingRecord> records = engine_->mappings();
  Napi::Array a = Napi::Array::New(env, records.size());
  for (size_t i = 0; i < records.size(); ++i)
    a.Set(static_cast<uint32_t>(i),
          from_mapping_record(env, records[i].masquerade, records[i].record, &records[i].remotes));
  return a;
}

// stop(drainMs = 200): Promise<void>
Napi::Value Engine::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t drain = 200;
  if (!info[0].IsUndefined()) {
    if (!info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 0)
      throw_error(env, "ERR_NPT66_INVALID_ARG", "drainMs must be a non-negative number");
    drain = info[0].As<Napi::Number>().Uint32Value();
  }
  watch_.reset();  // joins the watch's thread (it wakes at once)
  auto* worker = new StopWorker(env, engine_.get(), std::chrono::milliseconds(drain), events_, info.This().As<Napi::Object>());
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace npt66::binding
