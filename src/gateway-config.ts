// The gateway's JSON configuration: one zod schema (unknown keys are errors), messages naming the field and the fix,
// then the NPTv6 rules of src/config.ts. The same schema generates schema/npt66.schema.json (`npm run schema`).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

import { validateNptv6 } from './config';
import { defaultControlSocket, INITIAL_NAMESPACE_SOCKET } from './control-socket-path';
import { configError, Npt66Error } from './errors';
import { systemHostFacts, type HostFacts } from './host-facts';
import { followedPrefix, type FollowedPrefix, type OutsideFrom } from './outside-prefix';
import { parseMetricsListen } from './metrics-listen';
import { compileMasquerade, DEFAULT_MAX_PER_HOST64, DEFAULT_MAX_REMOTES_PER_MAPPING, DEFAULT_PORTS, type MasqueradeEntry, type Nptv6Prefixes } from './masquerade-config';
import type { CompiledNptv6Mapping } from './config';
import type { NativeMasquerade } from './native';

// Linux dev_valid_name (net/core/dev.c): 1..15 bytes (IFNAMSIZ 16 with the NUL), not "." or "..", no "/", ":" or
// whitespace. npt66 is stricter: letters, digits, "_", "." and "-", not starting with "-" (never read as an option),
// and no "+" (an ip6tables wildcard: "eth+" would match every ethN).
export const INTERFACE_NAME = /^(?!-)(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;
// sockaddr_un.sun_path holds 108 bytes including the NUL.
const SUN_PATH_MAX = 107;
// The control socket's default depends on the network namespace (src/control-socket-path.ts): this one in the
// initial namespace, /run/npt66/NAME.sock in a namespace named NAME, so one npt66 per namespace needs no setting.
export const DEFAULT_SOCKET = INITIAL_NAMESPACE_SOCKET;

// One sentence per field: the JSON Schema's description and the body of every error message about that field.
// Keys are paths with array indices written as [].
export const FIELD_HELP: Record<string, string> = {
  $schema: 'a string: the JSON Schema this file follows, for editors (npt66 ignores it)',
  '':
    'a JSON object like {"nptv6":[{"inside":"fd5a:ceb9:ed8d:fe0a::/64","outside":"2001:db8:ff66::/64","interface":"eth1"}]} or {"masquerade":[{"source":"fd5a:ceb9:ed8d:1::/64","interface":"ens192"}]}',
  nptv6: 'an array of NPTv6 mappings {"inside": PREFIX, "outside": PREFIX, "interface": NAME} (this or "masquerade" must have at least one entry)',
  'nptv6[]': 'an object {"inside": PREFIX, "outside": PREFIX, "interface": NAME}',
  'nptv6[].inside': 'the prefix the inside hosts use, a string like "fd5a:ceb9:ed8d:fe0a::/64"',
  'nptv6[].outside':
    'the prefix routed to this gateway from outside, a string like "2001:db8:ff66::/64", or an object {"interface": NAME, "length": N, "subnet": N}: the prefix follows that interface\'s stable global address (README "Outside prefix from an interface")',
  'nptv6[].outside.interface': 'the interface whose stable global IPv6 address (SLAAC, DHCPv6 or a delegated prefix) gives the outside prefix, e.g. "wan0"',
  'nptv6[].outside.length': 'an integer from 1 to 64: the length of the outside prefix, at least the length of the interface\'s prefix',
  'nptv6[].outside.subnet':
    'an integer from 0 (default): which /length inside the interface\'s prefix, e.g. 1 for the second /64 of a delegated /60',
  'nptv6[].interface':
    'the name of the outside interface (where translated packets leave), 1 to 15 characters of letters, digits, "_", "." and "-", not starting with "-", e.g. "eth1"; may be left out when "outside" names an interface. One inside prefix may have several entries with different interfaces (several uplinks, RFC 6296 s2.4)',
  'nptv6[].proxyNdp':
    'false (default), true or "neighbours", or "prefix": for an outside prefix that is on-link on the outside interface instead of routed to the gateway, npt66 answers Neighbor Solicitations there: "neighbours" (true) for the outside addresses of inside hosts that are live neighbours now, "prefix" for every address of the outside prefix it translates; never for DAD probes (README "Proxy NDP")',
  queues: 'an object {"first": N, "count": N}: the NFQUEUE numbers npt66 binds, first .. first+count-1',
  'queues.first': 'an integer from 0 to 65535: the first NFQUEUE number',
  'queues.count': 'an integer from 1 to 64: how many queues (one packet thread each; more than one uses --queue-balance)',
  'queues.cpus':
    '"auto" (default) or a list of CPU numbers (0 to 1023): queue thread i runs on cpus[i % length]. "auto" puts the threads on the CPUs this process may run on that take no receive work of the queued interfaces (their IRQ affinity and rps_cpus), round-robin, and leaves them unpinned when there is none or it cannot be told (veth with RPS off); the choice is logged at start and shown by `npt66 check`. Under overload, a queue thread on a CPU that does receive work livelocks (README, Performance)',
  'queues.cpus[]': 'a CPU number from 0 to 1023',
  'queues.nice': 'an integer from -20 to 19: the queue threads\' nice value (default -20, so under overload they keep their CPU against ksoftirqd)',
  'queues.gso':
    'true (default) or false: take GSO/GRO super-packets whole from the kernel (NFQA_CFG_F_GSO), one queue message per up to 64 KB instead of one per MTU-sized packet; false only to compare, or on a kernel that mishandles it',
  queueMaxLen: 'an integer from 16 to 1048576: packets the kernel holds per queue before dropping (default 4096)',
  socketBufferBytes: 'an integer from 65536 to 1073741824: receive buffer of each queue socket in bytes (default 8388608)',
  failOpen:
    'true or false (default false): true accepts packets untranslated when a queue is full or a packet cannot be translated, instead of dropping them, which leaks inside addresses',
  icmpRateLimit: 'an integer from 0 to 100000: ICMPv6 Parameter Problem replies per second to senders of refused packets, 0 sends none (default 100)',
  hairpinMark:
    'an integer with exactly one bit set (e.g. 268435456 = 0x10000000), or 0 to turn hairpinning off: the packet mark bit npt66 uses to send inside-to-inside packets addressed to an outside address through the outbound translation too (RFC 6296 s4.3; default 268435456)',
  control: 'an object {"socket": PATH}: where `npt66 stats` and `npt66 mappings` reach the running daemon',
  'control.socket': `an absolute path of at most ${SUN_PATH_MAX} bytes for the unix socket (default "${DEFAULT_SOCKET}" in the initial network namespace, "/run/npt66/NAME.sock" in one named NAME by \`ip netns add\`, "/run/npt66/netns-INODE.sock" in an unnamed one)`,
  masquerade:
    'an array of NAT66 masquerade entries {"source": PREFIX, "interface": NAME, "address": ADDRESS, "ports": "MIN-MAX"}: traffic from the source prefix leaving by the interface gets the address (and a port from the range), like `firewall-cmd --masquerade`',
  'masquerade[]': 'an object {"source": PREFIX, "interface": NAME, "address": ADDRESS, "ports": "MIN-MAX"} ("address" and "ports" optional)',
  'masquerade[].source': 'the inside prefix to masquerade, a string like "fd5a:ceb9:ed8d:1::/64", or "docker" (every IPv6 subnet of the local Docker Engine\'s bridge networks, followed live), or a non-empty array of these',
  'masquerade[].interface':
    'the name of the outside interface (where masqueraded packets leave), 1 to 15 characters of letters, digits, "_", "." and "-", not starting with "-", e.g. "ens192"',
  'masquerade[].address':
    "the outside address, a string like \"fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5\"; default: the interface's stable global address (temporary, deprecated and tentative addresses are skipped)",
  'masquerade[].ports': `a string "MIN-MAX" with 1024 <= MIN <= MAX <= 65535: the outside ports (and ICMPv6 echo identifiers) mappings get; it must not overlap net.ipv4.ip_local_port_range (default "${DEFAULT_PORTS}")`,
  'masquerade[].filtering':
    '"address-dependent" (default: only remote addresses an inside endpoint has sent to may reach its mapping, RFC 4787 REQ-8) or "endpoint-independent" (any remote may)',
  'masquerade[].timeouts': 'an object {"udp": S, "tcpEstablished": S, "tcpTransitory": S, "icmp": S}: how long an idle mapping lives, in seconds',
  'masquerade[].timeouts.udp': 'an integer number of seconds from 120 to 604800: idle UDP mappings live this long (default 300; never below 120, RFC 4787 REQ-5)',
  'masquerade[].timeouts.tcpEstablished': 'an integer number of seconds from 1 to 604800: idle established TCP mappings live this long (default 7440, RFC 5382 REQ-5)',
  'masquerade[].timeouts.tcpTransitory':
    'an integer number of seconds from 1 to 604800: TCP mappings being opened or closed live this long (default 240, RFC 5382 and RFC 7857)',
  'masquerade[].timeouts.icmp': 'an integer number of seconds from 1 to 604800: idle ICMPv6 echo mappings live this long (default 60, RFC 5508 REQ-1)',
  'masquerade[].maxMappings': 'an integer from 1 to 268435456: the most live mappings; new flows beyond it are refused, live ones never evicted (default 1048576, RFC 6888 REQ-3)',
  'masquerade[].maxPerHost64': `an integer from 1 to 268435456: the most live mappings per inside /64 (default ${DEFAULT_MAX_PER_HOST64}, RFC 6888 REQ-4); keep it well below the size of "ports", or one host can take every port and echo identifier`,
  'masquerade[].maxRemotesPerMapping': `an integer from 1 to 65536: the most remote addresses (TCP: remote endpoints) one mapping lets in at once, each until it has been idle for its timeout (default ${DEFAULT_MAX_REMOTES_PER_MAPPING}); a packet to one more is refused, not a live one forgotten`,
  'masquerade[].inboundRefresh': 'true (default) or false: whether inbound packets that pass filtering also keep a mapping alive (RFC 4787 REQ-6)',
  'masquerade[].forwards':
    'an array of published ports {"protocol": "tcp"|"udp", "port": PORT, "to": "[ADDRESS]:PORT"}: inbound traffic to the masquerade address and "port" goes to the inside address and port with the client\'s own address as the source, and its replies leave from the masquerade address and "port"; each port must lie outside "ports" (and below 1024 only without "privilegedPorts") and not be one the host itself listens on',
  'masquerade[].forwards[]': 'an object {"protocol": "tcp"|"udp", "port": PORT, "to": "[ADDRESS]:PORT"}, e.g. {"protocol":"tcp","port":8080,"to":"[fd5a:ceb9:ed8d:1::2]:80"}',
  'masquerade[].forwards[].protocol': '"tcp" or "udp"',
  'masquerade[].forwards[].port': 'an integer from 1 to 65535: the port on the masquerade address, outside "ports"',
  'masquerade[].forwards[].to': 'a string "[ADDRESS]:PORT": the inside host (in one of the source prefixes) and its port, e.g. "[fd5a:ceb9:ed8d:1::2]:80"',
  'masquerade[].privilegedPorts':
    'true or false (default false): keep inside source ports below 1024 below 1024 and queue inbound TCP/UDP to ports 1-1023 of the address, where their replies go; this sends the host\'s own services on those ports (e.g. ssh) through npt66 too, and blocks them while npt66 is down. With false, inside ports below 1024 are mapped into "ports" like any other',
  // Metrics and logs (README "Metrics", "Logs").
  metrics:
    'an object {"listen": "[::1]:9466"}: serve Prometheus metrics over HTTP at /metrics (off when absent); a non-loopback address also needs "allowRemote": true',
  'metrics.listen': 'a literal address and port, "[IPv6]:PORT" or "IPv4:PORT", e.g. "[::1]:9466" (a loopback address unless "allowRemote" is true)',
  'metrics.allowRemote':
    'true or false (default false): allow a non-loopback "listen" address; the endpoint has no authentication and shows prefixes, interfaces and traffic figures to whoever reaches it, so firewall it',
  logs: 'an object {"mappings": PATH, "warningInterval": S}: where masquerade mapping events go and how often a repeated warning is logged',
  'logs.mappings':
    'an absolute path: append masquerade mapping creation and deletion (NEW and DESTROY, with time, inside and outside endpoints, no remote: RFC 6888 REQ-12) to this file as JSON lines instead of stdout; reopened on SIGHUP for log rotation',
  'logs.warningInterval':
    'an integer number of seconds from 0 to 86400 (default 60): a warning with the same message is logged at most once per interval, with the count of those suppressed; 0 logs every one',
};

const help = (key: string) => FIELD_HELP[key]!;

const int = (key: string, min: number, max: number) => z.number().int().min(min).max(max).describe(help(key));

const outsideFrom = z.strictObject({
  interface: z.string().regex(INTERFACE_NAME).describe(help('nptv6[].outside.interface')),
  length: int('nptv6[].outside.length', 1, 64),
  subnet: z.number().int().min(0).max(0xffffffff).default(0).describe(help('nptv6[].outside.subnet')),
});

const nptv6Mapping = z
  .strictObject({
    inside: z.string().describe(help('nptv6[].inside')),
    outside: z.union([z.string(), outsideFrom]).describe(help('nptv6[].outside')),
    interface: z.string().regex(INTERFACE_NAME).optional().describe(help('nptv6[].interface')),
    proxyNdp: z.union([z.boolean(), z.enum(['neighbours', 'prefix'])]).optional().describe(help('nptv6[].proxyNdp')),
  })
  .describe(help('nptv6[]'));

const seconds = (key: string, min: number, fallback: number) => int(`masquerade[].timeouts.${key}`, min, 604_800).default(fallback);

const masqueradeEntry = z
  .strictObject({
    source: z.union([z.string(), z.array(z.string()).min(1)]).describe(help('masquerade[].source')),
    interface: z.string().regex(INTERFACE_NAME).describe(help('masquerade[].interface')),
    address: z.string().optional().describe(help('masquerade[].address')),
    ports: z
      .string()
      .regex(/^\d{1,5}-\d{1,5}$/)
      .default(DEFAULT_PORTS)
      .describe(help('masquerade[].ports')),
    filtering: z.enum(['address-dependent', 'endpoint-independent']).default('address-dependent').describe(help('masquerade[].filtering')),
    timeouts: z
      .strictObject({
        udp: seconds('udp', 120, 300),
        tcpEstablished: seconds('tcpEstablished', 1, 7440),
        tcpTransitory: seconds('tcpTransitory', 1, 240),
        icmp: seconds('icmp', 1, 60),
      })
      .default({ udp: 300, tcpEstablished: 7440, tcpTransitory: 240, icmp: 60 })
      .describe(help('masquerade[].timeouts')),
    maxMappings: int('masquerade[].maxMappings', 1, 1 << 28).default(1 << 20),
    maxPerHost64: int('masquerade[].maxPerHost64', 1, 1 << 28).default(DEFAULT_MAX_PER_HOST64),
    maxRemotesPerMapping: int('masquerade[].maxRemotesPerMapping', 1, 65_536).default(DEFAULT_MAX_REMOTES_PER_MAPPING),
    inboundRefresh: z.boolean().default(true).describe(help('masquerade[].inboundRefresh')),
    privilegedPorts: z.boolean().default(false).describe(help('masquerade[].privilegedPorts')),
    forwards: z
      .array(
        z
          .strictObject({
            protocol: z.enum(['tcp', 'udp']).describe(help('masquerade[].forwards[].protocol')),
            port: int('masquerade[].forwards[].port', 1, 65535),
            to: z.string().describe(help('masquerade[].forwards[].to')),
          })
          .describe(help('masquerade[].forwards[]')),
      )
      .optional()
      .describe(help('masquerade[].forwards')),
  })
  .describe(help('masquerade[]'));

export const gatewayConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe(help('$schema')),
    nptv6: z.array(nptv6Mapping).default([]).describe(help('nptv6')),
    queues: z
      .strictObject({
        first: int('queues.first', 0, 65535),
        count: int('queues.count', 1, 64),
        cpus: z
          .union([z.literal('auto'), z.array(int('queues.cpus[]', 0, 1023)).min(1)])
          .default('auto')
          .describe(help('queues.cpus')),
        nice: int('queues.nice', -20, 19).optional(),
        gso: z.boolean().default(true).describe(help('queues.gso')),
      })
      .default({ first: 0, count: 1, cpus: 'auto', gso: true })
      .describe(help('queues')),
    queueMaxLen: int('queueMaxLen', 16, 1 << 20).default(4096),
    socketBufferBytes: int('socketBufferBytes', 1 << 16, 1 << 30).default(8 << 20),
    failOpen: z.boolean().default(false).describe(help('failOpen')),
    icmpRateLimit: int('icmpRateLimit', 0, 100_000).default(100),
    hairpinMark: z
      .number()
      .int()
      .min(0)
      .max(0x80000000)
      .refine((n) => (n & (n - 1)) === 0, { abort: true })
      .default(0x10000000)
      .describe(help('hairpinMark')),
    control: z
      .strictObject({
        socket: z
          .string()
          .refine((p) => path.isAbsolute(p) && Buffer.byteLength(p) <= SUN_PATH_MAX && !p.endsWith('/'))
          .default(() => defaultControlSocket()) // at parse time: the namespace the daemon or client runs in
          .describe(help('control.socket'))
          .meta({ default: DEFAULT_SOCKET }), // the JSON Schema shows the initial namespace's, wherever generated
      })
      .default(() => ({ socket: defaultControlSocket() }))
      .describe(help('control'))
      .meta({ default: { socket: DEFAULT_SOCKET } }),
    masquerade: z.array(masqueradeEntry).default([]).describe(help('masquerade')),
    metrics: z
      .strictObject({
        listen: z
          .string()
          .refine((s) => parseMetricsListen(s) !== null)
          .describe(help('metrics.listen')),
        allowRemote: z.boolean().default(false).describe(help('metrics.allowRemote')),
      })
      .optional()
      .describe(help('metrics')),
    logs: z
      .strictObject({
        mappings: z
          .string()
          .refine((p) => path.isAbsolute(p) && !p.endsWith('/'))
          .optional()
          .describe(help('logs.mappings')),
        warningInterval: int('logs.warningInterval', 0, 86_400).default(60),
      })
      .default({ warningInterval: 60 })
      .describe(help('logs')),
  })
  .describe(help(''));

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
type ParsedGatewayConfig = z.output<typeof gatewayConfigSchema>;
// After compiling, every masquerade entry has its address (taken from the interface when not given).
// Every NPTv6 entry has its interface and the outside prefix in force (null: it follows an interface with no usable
// address yet); `outsideFrom` keeps what an interface-following entry asked for.
export interface Nptv6Entry {
  inside: string;
  outside: string | null;
  interface: string;
  outsideFrom?: OutsideFrom;
  proxyNdp?: 'neighbours' | 'prefix'; // answer Neighbor Solicitations for its outside addresses (src/proxy-ndp.ts); true is "neighbours"
}
export type GatewayConfig = Omit<ParsedGatewayConfig, 'masquerade' | 'nptv6'> & { masquerade: MasqueradeEntry[]; nptv6: Nptv6Entry[] };

// A validated configuration plus what the engine needs, compiled once.
export interface CompiledConfig {
  config: GatewayConfig;
  mappings: CompiledNptv6Mapping[]; // same order as config.nptv6
  /** @internal the engine's input, not part of the public API */
  masquerade: NativeMasquerade[]; // same order as config.masquerade
  warnings: { field: string; message: string }[]; // valid, but outside an RFC's recommendation
  followed: (FollowedPrefix | null)[]; // per nptv6 entry: where an interface-following outside prefix came from
  /** @internal the NPTv6 prefixes in force, parsed: a masquerade address is checked against them (followedAddress) */
  nptv6Prefixes: Nptv6Prefixes[];
}


// Levenshtein distance, for "did you mean" on misspelt keys.
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

function fieldName(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function helpKey(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? '[]' : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function allowedKeys(p: readonly PropertyKey[]): string[] {
  const key = helpKey(p);
  const prefix = key === '' ? '' : `${key}.`;
  return Object.keys(FIELD_HELP)
    .filter((k) => k.startsWith(prefix) && k !== key && !k.slice(prefix.length).includes('.') && !k.slice(prefix.length).includes('['))
    .map((k) => k.slice(prefix.length));
}

function issueMessage(issue: z.core.$ZodIssue, input: unknown): { field: string; message: string } {
  if (issue.code === 'unrecognized_keys') {
    const where = fieldName(issue.path);
    const allowed = allowedKeys(issue.path);
    const key = issue.keys[0]!;
    const field = where === '' ? key : `${where}.${key}`;
    const close = allowed.filter((a) => distance(a, key) <= 2).sort((a, b) => distance(a, key) - distance(b, key))[0];
    const more = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map((k) => JSON.stringify(k)).join(', ')})` : '';
    return {
      field,
      message: `unknown key${more}; ${close ? `did you mean "${close}"? ` : ''}the keys allowed here are ${allowed.map((a) => `"${a}"`).join(', ')}`,
    };
  }
  const field = fieldName(issue.path);
  const got = describeValue(valueAt(input, issue.path));
  const key = helpKey(issue.path);
  if (issue.code === 'invalid_union' && key === 'masquerade[].source') return { field, message: `must be ${help(key)}, got ${got}` };
  // "auto" or a list: a list with a bad element names that element (the list branch's first issue).
  const listIssue = issue.code === 'invalid_union' && key === 'queues.cpus' && Array.isArray(valueAt(input, issue.path)) ? issue.errors[1]?.[0] : undefined;
  if (listIssue) return issueMessage({ ...listIssue, path: [...issue.path, ...listIssue.path] } as z.core.$ZodIssue, input);
  if (issue.code === 'invalid_type' && got === 'nothing') return { field, message: `is missing; it must be ${help(key)}` };
  return { field, message: `must be ${FIELD_HELP[key] ?? 'valid'}, got ${got}` };
}

// Validates a parsed JSON value. Throws Npt66Error (ERR_NPT66_CONFIG) naming every offending field and the fix.
// `facts` is the host the daemon runs on (its port range, interface addresses); read only for masquerade.
export function compileGatewayConfig(given: unknown, facts: HostFacts = systemHostFacts): CompiledConfig {
  const input = followAgain(given);
  const parsed = gatewayConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => issueMessage(i, input));
    const [first, ...rest] = problems;
    const more = rest.map((p) => `\n${p.field}: ${p.message}`).join('');
    throw new Npt66Error('ERR_NPT66_CONFIG', `${first!.message}${more}`, { field: first!.field });
  }
  const parsedConfig = parsed.data;
  const last = parsedConfig.queues.first + parsedConfig.queues.count - 1;
  if (last > 65535) {
    throw configError('queues.count', `queues ${parsedConfig.queues.first}..${last} go past 65535, the last NFQUEUE number; lower "first" or "count"`);
  }
  if (parsedConfig.nptv6.length === 0 && parsedConfig.masquerade.length === 0) {
    throw configError(
      'nptv6',
      `${valueAt(input, ['nptv6']) === undefined ? 'is missing' : 'is empty'} and there is no "masquerade" either, so npt66 would have nothing to do; add an NPTv6 mapping, e.g. "nptv6": [{"inside":"fd5a:ceb9:ed8d:fe0a::/64","outside":"2001:db8:ff66::/64","interface":"eth1"}], or a masquerade entry, e.g. "masquerade": [{"source":"fd5a:ceb9:ed8d:1::/64","interface":"ens192"}]`,
    );
  }
  const listen = parsedConfig.metrics && parseMetricsListen(parsedConfig.metrics.listen);
  if (listen && !listen.loopback && !parsedConfig.metrics!.allowRemote) {
    throw configError(
      'metrics.listen',
      `"${parsedConfig.metrics!.listen}" is not a loopback address; the metrics endpoint has no authentication, so listen on "[::1]:${listen.port}" (and scrape through a tunnel or proxy), or add "allowRemote": true to "metrics" and firewall the port`,
    );
  }
  const { entries: nptv6, followed, warnings: followWarnings } = resolveNptv6Entries(parsedConfig.nptv6, facts);
  const mappings = validateNptv6(nptv6, 'nptv6');
  const nptv6Prefixes = mappings.map((m, i) => ({
    inside: { bytes: m.inside, length: m.insideLength, text: nptv6[i]!.inside },
    // No outside prefix yet: ::/128, which contains nothing masquerade could use.
    outside: { bytes: m.outside, length: m.noOutside ? 128 : m.outsideLength, text: nptv6[i]!.outside ?? '::/128' },
  }));
  const masq = compileMasquerade(parsedConfig.masquerade, nptv6Prefixes, facts);
  const config: GatewayConfig = { ...parsedConfig, nptv6, masquerade: masq.entries };
  return {
    config,
    mappings,
    masquerade: masq.native,
    warnings: [...followWarnings, ...masq.warnings],
    followed,
    nptv6Prefixes,
  };
}

// A compiled configuration compiles again (`npt66 run` and reload pass a GatewayConfig back): an entry that follows
// an interface follows it again, read anew: an nptv6 entry ({..., "outside": PREFIX | null, "outsideFrom": {...}})
// its prefix, a masquerade entry ({..., "address": ADDRESS, "addressFrom": "interface"}) its address.
function followAgain(input: unknown): unknown {
  const isObject = (m: unknown): m is object => m !== null && typeof m === 'object';
  const list = (key: 'nptv6' | 'masquerade'): unknown[] | null => {
    const v = isObject(input) ? (input as Record<string, unknown>)[key] : undefined;
    return Array.isArray(v) ? v : null;
  };
  const nptv6 = list('nptv6');
  const masquerade = list('masquerade');
  const followsNptv6 = nptv6?.some((m) => isObject(m) && 'outsideFrom' in m) ?? false;
  const followsMasquerade = masquerade?.some((m) => isObject(m) && 'addressFrom' in m) ?? false;
  if (!followsNptv6 && !followsMasquerade) return input;
  return {
    ...(input as object),
    ...(followsNptv6
      ? {
          nptv6: nptv6!.map((m: unknown) => {
            if (!isObject(m) || !('outsideFrom' in m)) return m;
            const { outsideFrom, outside: _inForce, ...rest } = m as Nptv6Entry;
            return { ...rest, outside: outsideFrom };
          }),
        }
      : {}),
    ...(followsMasquerade
      ? {
          masquerade: masquerade!.map((m: unknown) => {
            if (!isObject(m) || !('addressFrom' in m) || (m as MasqueradeEntry).addressFrom !== 'interface') return m;
            const { addressFrom: _from, address: _inForce, ...rest } = m as MasqueradeEntry;
            return rest;
          }),
        }
      : {}),
  };
}

// Each entry's interface (the one "outside" follows when left out) and outside prefix in force.
// "proxyNdp" as the entry keeps it: true is "neighbours", false or absent none.
function proxyNdpMode(v: boolean | 'neighbours' | 'prefix' | undefined): { proxyNdp?: 'neighbours' | 'prefix' } {
  if (v === undefined || v === false) return {};
  return { proxyNdp: v === true ? 'neighbours' : v };
}

function resolveNptv6Entries(parsed: ParsedGatewayConfig['nptv6'], facts: HostFacts) {
  const warnings: { field: string; message: string }[] = [];
  const followed: (FollowedPrefix | null)[] = [];
  const entries = parsed.map((m, i): Nptv6Entry => {
    if (typeof m.outside === 'string') {
      if (m.interface === undefined) {
        throw configError(`nptv6[${i}].interface`, `is missing; it must be ${help('nptv6[].interface')}`);
      }
      followed.push(null);
      return { inside: m.inside, outside: m.outside, interface: m.interface, ...proxyNdpMode(m.proxyNdp) };
    }
    const from: OutsideFrom = { interface: m.outside.interface, length: m.outside.length, subnet: m.outside.subnet };
    const f = followedPrefix(from, facts);
    followed.push(f);
    if (f.prefix === null) {
      warnings.push({
        field: `nptv6[${i}].outside`,
        message: `no outside prefix yet (${f.reason}): outbound traffic from ${m.inside} is dropped (drop_no_outside_prefix) until one appears`,
      });
    }
    return { inside: m.inside, outside: f.prefix, interface: m.interface ?? from.interface, outsideFrom: from, ...proxyNdpMode(m.proxyNdp) };
  });
  return { entries, followed, warnings };
}

// Reads and validates a configuration file; JSON syntax errors name the line and column.
export function loadGatewayConfig(file: string, facts: HostFacts = systemHostFacts): CompiledConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Npt66Error('ERR_NPT66_CONFIG', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    let where = '';
    if (m) {
      const before = text.slice(0, Number(m[1]));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw new Npt66Error('ERR_NPT66_CONFIG', `${file} is not valid JSON${where}: ${(e as Error).message}`, { cause: e });
  }
  return compileGatewayConfig(json, facts);
}

// The JSON Schema for editors and other tools, generated from the zod schema (what a user may write: defaults optional).
export function gatewayJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'npt66 configuration' };
}

// The committed schema file: <package root>/schema/npt66.schema.json. The root is found from dist/src (the usual
// layout) or, for a build compiled elsewhere, from the working directory.
export function schemaFile(): string {
  for (const start of [path.resolve(__dirname, '..', '..'), process.cwd()]) {
    if (existsSync(path.join(start, 'package.json')) && existsSync(path.join(start, 'src', 'gateway-config.ts'))) {
      return path.join(start, 'schema', 'npt66.schema.json');
    }
  }
  throw new Error('cannot find the npt66 package root (run from the repository)');
}

export function gatewayJsonSchemaText(): string {
  return `${JSON.stringify(gatewayJsonSchema(), null, 2)}\n`;
}

// `node dist/src/gateway-config.js --write` regenerates schema/npt66.schema.json (npm run schema).
if (require.main === module) {
  if (process.argv[2] === '--write') writeFileSync(schemaFile(), gatewayJsonSchemaText());
  else process.stdout.write(gatewayJsonSchemaText());
}
