#include "masquerade_convert.h"

#include <arpa/inet.h>

#include <cmath>
#include <string>

#include "convert.h"

namespace npt66::binding {
namespace {

[[noreturn]] void config_error(Napi::Env env, const std::string& field, const std::string& message) {
  throw_error(env, "ERR_NPT66_CONFIG", field + " " + message);
}

Napi::Value required(Napi::Env env, const Napi::Object& o, const std::string& field, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) config_error(env, field + "." + key, "is required");
  return v;
}

uint64_t integer(Napi::Env env, const Napi::Object& o, const std::string& field, const char* key, uint64_t min,
                 uint64_t max) {
  Napi::Value v = required(env, o, field, key);
  const std::string name = field + "." + key;
  if (!v.IsNumber()) config_error(env, name, "must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d))
    config_error(env, name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return static_cast<uint64_t>(d);
}

bool boolean(Napi::Env env, const Napi::Object& o, const std::string& field, const char* key) {
  Napi::Value v = required(env, o, field, key);
  if (!v.IsBoolean()) config_error(env, field + "." + key, "must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Address address(Napi::Env env, const Napi::Value& v, const std::string& field) {
  if (!v.IsBuffer() || v.As<Napi::Buffer<uint8_t>>().Length() != 16)
    config_error(env, field, "must be a 16-byte Buffer");
  return Address::from(v.As<Napi::Buffer<uint8_t>>().Data());
}

Napi::Array array(Napi::Env env, const Napi::Object& o, const std::string& field, const char* key) {
  Napi::Value v = required(env, o, field, key);
  if (!v.IsArray()) config_error(env, field + "." + key, "must be an array");
  return v.As<Napi::Array>();
}

}  // namespace

std::vector<Prefix> to_masquerade_sources(Napi::Env env, const Napi::Value& v, const std::string& field) {
  if (!v.IsArray()) config_error(env, field, "must be an array");
  Napi::Array sources = v.As<Napi::Array>();
  std::vector<Prefix> out;
  for (uint32_t i = 0; i < sources.Length(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    Napi::Value s = sources.Get(i);
    if (!s.IsObject()) config_error(env, at, "must be an object {prefix, length}");
    Prefix p;
    p.addr = address(env, s.As<Napi::Object>().Get("prefix"), at + ".prefix");
    p.len = static_cast<uint8_t>(integer(env, s.As<Napi::Object>(), at, "length", 0, 128));
    out.push_back(p);
  }
  return out;
}

std::vector<Address> to_masquerade_addresses(Napi::Env env, const Napi::Value& v, const std::string& field) {
  if (!v.IsArray()) config_error(env, field, "must be an array");
  Napi::Array list = v.As<Napi::Array>();
  std::vector<Address> out;
  for (uint32_t i = 0; i < list.Length(); ++i) out.push_back(address(env, list.Get(i), field + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<Nat66Forward> to_masquerade_forwards(Napi::Env env, const Napi::Value& v, const std::string& field) {
  if (!v.IsArray()) config_error(env, field, "must be an array");
  Napi::Array list = v.As<Napi::Array>();
  std::vector<Nat66Forward> out;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    Napi::Value e = list.Get(i);
    if (!e.IsObject()) config_error(env, at, "must be an object {protocol, port, inside, insidePort}");
    Napi::Object o = e.As<Napi::Object>();
    Napi::Value p = required(env, o, at, "protocol");
    const std::string proto = p.IsString() ? p.As<Napi::String>().Utf8Value() : "";
    Nat66Forward f;
    if (proto == "tcp") f.proto = Nat66Proto::tcp;
    else if (proto == "udp") f.proto = Nat66Proto::udp;
    else config_error(env, at + ".protocol", "must be 'tcp' or 'udp'");
    f.port = static_cast<uint16_t>(integer(env, o, at, "port", 1, 65535));
    f.inside = address(env, required(env, o, at, "inside"), at + ".inside");
    f.inside_port = static_cast<uint16_t>(integer(env, o, at, "insidePort", 1, 65535));
    out.push_back(f);
  }
  return out;
}

namespace {

Nat66Config one(Napi::Env env, const Napi::Value& v, const std::string& field) {
  if (!v.IsObject()) config_error(env, field, "must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Nat66Config c;

  // May be empty ("source": "docker" before Docker has an IPv6 network).
  c.inside = to_masquerade_sources(env, array(env, o, field, "sources"), field + ".sources");
  c.outside = to_masquerade_addresses(env, array(env, o, field, "addresses"), field + ".addresses");
  if (c.outside.empty()) config_error(env, field + ".addresses", "must hold at least one outside address");

  c.port_min = static_cast<uint16_t>(integer(env, o, field, "portMin", 1024, 65535));
  c.port_max = static_cast<uint16_t>(integer(env, o, field, "portMax", 1024, 65535));
  if (c.port_min > c.port_max) config_error(env, field + ".portMin", "must not be above portMax");

  Napi::Value f = required(env, o, field, "filtering");
  const std::string filtering = f.IsString() ? f.As<Napi::String>().Utf8Value() : "";
  if (filtering == "address-dependent") c.filtering = Nat66Filtering::address_dependent;
  else if (filtering == "endpoint-independent") c.filtering = Nat66Filtering::endpoint_independent;
  else config_error(env, field + ".filtering", "must be 'address-dependent' or 'endpoint-independent'");

  Napi::Value t = required(env, o, field, "timeouts");
  if (!t.IsObject()) config_error(env, field + ".timeouts", "must be an object");
  const std::string tf = field + ".timeouts";
  constexpr uint64_t kMaxTimeoutMs = uint64_t{1} << 40;  // ~35 years: far beyond any timer, safe from overflow
  Napi::Object to = t.As<Napi::Object>();
  c.timeouts.udp_ms = integer(env, to, tf, "udpMs", kNat66MinUdpTimeoutMs, kMaxTimeoutMs);
  c.timeouts.tcp_established_ms = integer(env, to, tf, "tcpEstablishedMs", 1, kMaxTimeoutMs);
  c.timeouts.tcp_transitory_ms = integer(env, to, tf, "tcpTransitoryMs", 1, kMaxTimeoutMs);
  c.timeouts.icmp_ms = integer(env, to, tf, "icmpMs", 1, kMaxTimeoutMs);

  c.max_mappings = static_cast<uint32_t>(integer(env, o, field, "maxMappings", 1, kNat66MaxMappings));
  c.max_per_64 = static_cast<uint32_t>(integer(env, o, field, "maxPerHost64", 1, UINT32_MAX));
  c.inbound_refresh = boolean(env, o, field, "inboundRefresh");
  // Optional (left out: Nat66Config's default; the schema always gives it).
  if (!o.Get("maxRemotesPerMapping").IsUndefined())
    c.max_remotes_per_mapping =
        static_cast<uint32_t>(integer(env, o, field, "maxRemotesPerMapping", 1, kNat66MaxRemotesPerMapping));
  // Optional (left out: Nat66Config's default, false): true keeps inside ports below 1024 below 1024.
  if (!o.Get("privilegedPorts").IsUndefined()) c.keep_privileged_ports = boolean(env, o, field, "privilegedPorts");
  // Optional (left out: none): published ports, [{protocol, port, inside, insidePort}].
  if (!o.Get("forwards").IsUndefined()) c.forwards = to_masquerade_forwards(env, o.Get("forwards"), field + ".forwards");

  // What is left for the core: prefixes with host bits, refused or repeated outside addresses, an outside
  // address inside a source prefix. Its messages start with "masquerade: ".
  std::string error = validate(c);
  if (!error.empty()) {
    const std::string prefix = "masquerade: ";
    if (error.rfind(prefix, 0) == 0) error.erase(0, prefix.size());
    // The core names the offending thing first: "outside address X ..." or "source prefix X ...".
    const char* which = error.rfind("outside address", 0) == 0 ? ".addresses"
                        : error.rfind("source prefix", 0) == 0 ? ".sources"
                        : error.rfind("forward", 0) == 0 || error.rfind("a forward", 0) == 0 ? ".forwards"
                                                                : "";
    config_error(env, field + which + ":", error);
  }
  return c;
}

std::string show(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);  // RFC 5952 form
  return buf;
}

}  // namespace

Nat66Config to_masquerade_entry(Napi::Env env, const Napi::Value& v, const std::string& field) {
  return one(env, v, field);
}

std::vector<Nat66Config> to_masquerade(Napi::Env env, const Napi::Value& v) {
  std::vector<Nat66Config> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) config_error(env, "masquerade", "must be an array");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(one(env, a.Get(i), "masquerade[" + std::to_string(i) + "]"));
  return out;
}

Napi::Object masquerade_defaults(Napi::Env env) {
  const Nat66Config c;
  Napi::Object timeouts = Napi::Object::New(env);
  timeouts.Set("udpMs", static_cast<double>(c.timeouts.udp_ms));
  timeouts.Set("tcpEstablishedMs", static_cast<double>(c.timeouts.tcp_established_ms));
  timeouts.Set("tcpTransitoryMs", static_cast<double>(c.timeouts.tcp_transitory_ms));
  timeouts.Set("icmpMs", static_cast<double>(c.timeouts.icmp_ms));
  Napi::Object o = Napi::Object::New(env);
  o.Set("portMin", c.port_min);
  o.Set("portMax", c.port_max);
  o.Set("filtering", c.filtering == Nat66Filtering::address_dependent ? "address-dependent" : "endpoint-independent");
  o.Set("timeouts", timeouts);
  o.Set("maxMappings", c.max_mappings);
  o.Set("maxPerHost64", c.max_per_64);
  o.Set("maxRemotesPerMapping", c.max_remotes_per_mapping);
  o.Set("inboundRefresh", c.inbound_refresh);
  o.Set("privilegedPorts", c.keep_privileged_ports);
  return o;
}

Napi::Object from_mapping_record(Napi::Env env, uint32_t masquerade, const Nat66MappingRecord& r,
                                 const std::vector<Nat66Remote>* remotes) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("masquerade", masquerade);
  o.Set("protocol", to_string(r.proto));
  o.Set("state", to_string(r.state));
  o.Set("inside", show(r.inside));
  o.Set("insidePort", r.inside_port);
  o.Set("outside", show(r.outside));
  o.Set("outsidePort", r.outside_port);
  o.Set("remote", show(r.remote));
  o.Set("remotePort", r.remote_port);
  o.Set("remoteCount", r.remote_count);
  if (remotes != nullptr) {
    Napi::Array list = Napi::Array::New(env, remotes->size());
    for (uint32_t i = 0; i < remotes->size(); ++i) {
      const Nat66Remote& x = (*remotes)[i];
      Napi::Object e = Napi::Object::New(env);
      e.Set("address", show(x.addr));
      e.Set("port", x.port);
      if (r.proto == Nat66Proto::tcp) e.Set("state", to_string(x.state));
      e.Set("expires", static_cast<double>(x.expires_ms));
      list.Set(i, e);
    }
    o.Set("remotes", list);
  }
  o.Set("created", static_cast<double>(r.created_ms));
  o.Set("lastUsed", static_cast<double>(r.last_ms));
  o.Set("expires", static_cast<double>(r.expires_ms));
  o.Set("packetsOut", static_cast<double>(r.packets_out));
  o.Set("packetsIn", static_cast<double>(r.packets_in));
  o.Set("bytesOut", static_cast<double>(r.bytes_out));
  o.Set("bytesIn", static_cast<double>(r.bytes_in));
  return o;
}

std::string describe_mapping_event(Nat66EventType type, const Nat66MappingRecord& r) {
  return std::string(to_string(type)) + " " + to_string(r.proto) + " " + to_string(r.state) + " src=" +
         show(r.inside) + " sport=" + std::to_string(r.inside_port) + " dst=" + show(r.remote) +
         " dport=" + std::to_string(r.remote_port) + " nat=" + show(r.outside) +
         " natport=" + std::to_string(r.outside_port) + " remotes=" + std::to_string(r.remote_count);
}

}  // namespace npt66::binding
