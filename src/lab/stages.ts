// The lab's stages, in the order runLab (lab.ts) calls them: the seed's ambiguity, build, start the translators,
// the article's checks, the path trace, TCP/UDP, traceroute, the mapping events, the gateway's own checks, the
// counters, the summary, and keep or teardown. Each check stage prints its part and returns its results.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../netns';
import { Translator } from '../translator';
import { buildLab, LAB_PREFIX, type LabNetwork } from './build';
import type { LabContainer } from './container';
import { CLI, Daemon, daemonFiles, LAB_DIR, startDaemon, type DaemonSpec } from './daemon';
import type { LabDocker } from './docker_host';
import { exec, peerClient, pingCheck, startServer, type CheckResult, type Out } from './probes';
import { ADDRESSES, SEED_AMBIGUITY, SEED_NPTV6, type LabTopology } from './topology';
import { tracePing } from './trace';

const SEED_CONFIG_FILE = path.join(LAB_DIR, 'seed-npt66.json');
const PEER_PORT = 5300;

// What every stage after the build works on.
export interface LabRun {
  data: LabTopology;
  out: Out;
  net: LabNetwork;
  dockerHost: DaemonSpec; // npt66 masquerade on the Docker host
  gateway: DaemonSpec; // npt66 NPTv6 on the gateway
  hostOut: string; // the Docker host's address as seen outside (after NPTv6)
  mgmtOut: string; // mgmt's address as seen outside
  daemons: Daemon[]; // started: the Docker host's, then the gateway's
  servers: ChildProcess[]; // the TCP/UDP peers in dns and host, from containerFlows to gatewayFlows
  container: LabContainer; // cnt01, a namespace or (--docker) a Docker container
  docker: LabDocker | null; // --docker: the Docker host's own Engine
}

export type LabPlan = Pick<LabRun, 'dockerHost' | 'gateway' | 'hostOut' | 'mgmtOut'>;

function outsideOf(translator: Translator, address: string): string {
  const r = translator.mapAddress(address, 'outbound');
  if (!r.output) throw new Error(`lab: ${address} does not translate (${r.reason})`);
  return r.output;
}

// Why the gateway has two outside prefixes, in `npt66 check`'s own words on the seed's single mapping.
export async function explainSeed(out: Out): Promise<void> {
  out('npt66 lab: the seed story (IPv6 for Docker networks), whole path, in network namespaces');
  out();
  out('Why the gateway has two outside prefixes:');
  out(`  ${SEED_AMBIGUITY}`);
  mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(SEED_CONFIG_FILE, JSON.stringify({ nptv6: SEED_NPTV6 }, null, 2));
  const seedCheck = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [CLI, 'check', '-c', SEED_CONFIG_FILE], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (code) => resolve({ code, stderr }));
  });
  out(`  \`npt66 check\` on the seed's mapping says (exit ${seedCheck.code}):`);
  out(`    ${seedCheck.stderr.trim().replace(/\n/g, '\n    ')}`);
  out();
}

// The two daemons' configurations and the outside addresses the checks expect (nothing runs yet).
export function planLab(data: LabTopology): LabPlan {
  const translator = new Translator(data.nptv6);
  return {
    hostOut: outsideOf(translator, ADDRESSES.host),
    mgmtOut: outsideOf(translator, ADDRESSES.mgmt),
    dockerHost: {
      name: 'docker-host',
      ns: data.dockerHost.ns,
      config: { masquerade: data.masquerade, control: { socket: daemonFiles('docker-host').socket } },
    },
    gateway: {
      name: 'gateway',
      ns: data.gateway.ns,
      config: { nptv6: data.nptv6, queues: { first: 0, count: 1 }, failOpen: false, control: { socket: daemonFiles('gateway').socket } },
    },
  };
}

export async function buildNetwork(data: LabTopology, out: Out): Promise<LabNetwork> {
  out('Building the network:');
  return buildLab(data);
}

export function describeNetwork({ data, out }: LabRun): void {
  for (const n of data.namespaces) out(`  ${(LAB_PREFIX + n.name).padEnd(18)} ${n.role}`);
  for (const s of data.sysctls) out(`  sysctl ${s.key}=${s.value} in ${LAB_PREFIX}${s.ns} (${s.why}; kernel conntrack must remember flows as long)`);
  for (const h of data.hosts) out(`  /etc/netns/${LAB_PREFIX}${h.ns}/hosts: ${h.address} ${h.name}`);
  out();
}

// The real daemons, as an operator would run them: one per namespace (queues and rules are per namespace).
export async function startTranslators(run: LabRun, keep: boolean): Promise<void> {
  const { data, out, net, dockerHost, gateway, daemons } = run;
  for (const spec of [dockerHost, gateway]) {
    writeFileSync(daemonFiles(spec.name).config, JSON.stringify(spec.config, null, 2));
    const d = startDaemon(net, spec, keep);
    daemons.push(d);
    await d.ready();
  }
  if (run.docker) {
    // The network existed before npt66 started: its first listing of the Engine's networks brings the subnet.
    const subnet = run.docker.subnet;
    await waitFor(`the Docker host's npt66 to take ${subnet} from Docker`, () =>
      daemons[0]!.records().some((r) => String(r.msg).includes("Docker's IPv6 subnets now") && String(r.msg).includes(subnet)), 20_000);
  }
  const masq = (daemons[0]!.find('ready')?.masquerade as { address?: string }[] | undefined)?.[0];
  if (masq?.address !== ADDRESSES.host) throw new Error(`lab: the Docker host's npt66 masquerades to ${masq?.address}, expected ${ADDRESSES.host}`);
  out('Translations:');
  for (const m of data.masquerade) {
    const source = run.docker ? `"source": "docker" (the Engine's IPv6 networks: ${run.docker.subnet})` : m.source;
    out(`  Docker host (${LAB_PREFIX}${dockerHost.ns}), npt66 masquerade: ${source} -> ${masq.address} ports ${m.ports}`);
    out(`    (no "address" in its configuration: npt66 took ${m.interface}'s stable global address)`);
  }
  for (const m of data.nptv6) out(`  gateway (${LAB_PREFIX}${gateway.ns}), npt66 NPTv6: ${m.inside} <-> ${m.outside}`);
  out(`  so the Docker host ${ADDRESSES.host} appears outside as ${run.hostOut}, mgmt ${ADDRESSES.mgmt} as ${run.mgmtOut}`);
  out();
  for (const d of daemons) {
    out(`npt66 run -c ${daemonFiles(d.spec.name).config} (in ${LAB_PREFIX}${d.spec.ns}) is ready:`);
    out(`  ${JSON.stringify(d.find('ready'))}`);
    for (const w of d.records().filter((r) => r.level === 'warning')) out(`  warning: ${String(w.msg)}`);
    const rules = await exec(net, d.spec.ns, ['ip6tables-save']);
    out('  its rules (ip6tables-save | grep NPT66, without the ND/MLD returns):');
    for (const l of rules.stdout.split('\n').filter((x) => x.includes('NPT66') && !/--icmpv6-type 13[0-7] -j RETURN|--icmpv6-type 143 -j RETURN/.test(x))) {
      out(`    ${l}`);
    }
  }
  out('  (ICMPv6 types 130-137 and 143, Neighbor Discovery and MLD, are returned before every queue rule)');
  out();
}

export async function articleChecks({ data, out, net, container }: LabRun): Promise<CheckResult[]> {
  const cnt = container.run;
  out(`The article's checks (in cnt01: ${container.how} ...):`);
  const results = [
    await pingCheck(net, out, data.dockerHost.ns, ADDRESSES.cnt01, 'Docker host -> container (ping6 fd5a:ceb9:ed8d:1::2, plain routing over br_ipv6_nw)'),
    await pingCheck(net, out, cnt, ADDRESSES.dockerBridge, 'container -> Docker host bridge (ping6 fd5a:ceb9:ed8d:1::1)'),
    await pingCheck(net, out, cnt, ADDRESSES.host, "container -> Docker host's ens192 address (delivered locally, not masqueraded)"),
  ];
  out();
  return results;
}

// container -> outside, hop by hop: masquerade on the Docker host, then NPTv6 on the gateway.
export async function containerPathTrace({ data, out, net, gateway, hostOut, container }: LabRun): Promise<CheckResult> {
  const cnt = data.container.ns;
  out(`container -> outside: \`${container.how} ping6 dns.google\`, hop by hop (tcpdump on each link):`);
  const result = await tracePing(net, out, container.run, 'dns.google', [
    { ns: cnt, iface: data.container.iface, where: 'cnt01            (cnt01 eth0)  ' },
    { ns: data.dockerHost.ns, iface: data.dockerHost.outside, where: 'Docker host out  (host ens192) ', by: 'npt66 masquerade on the Docker host' },
    { ns: gateway.ns, iface: data.gateway.inside, where: 'gateway inside   (gw eth0)     ' },
    { ns: gateway.ns, iface: data.gateway.outside, where: 'gateway outside  (gw eth1)     ', by: 'npt66 NPTv6 on the gateway' },
    { ns: 'dns', iface: 'eth0', where: 'dns.google       (dns eth0)    ' },
  ], `ping6 dns.google from cnt01: dns.google sees ${hostOut}`, (e) => e.some((x) => x.kind === 'request' && x.src === hostOut) && e.some((x) => x.kind === 'reply' && x.dst === ADDRESSES.cnt01));
  out();
  return result;
}

// Starts the TCP/UDP peers (kept for gatewayFlows) and checks the container's flows: masquerade port, then NPTv6.
export async function containerFlows({ data, out, net, hostOut, servers, container }: LabRun): Promise<CheckResult[]> {
  out(`TCP and UDP from cnt01 to dns.google (${container.how}; the server answers with the address and port it saw):`);
  for (const ns of ['dns', 'host']) {
    for (const proto of ['tcp', 'udp']) servers.push(await startServer(net, ns, proto, PEER_PORT));
  }
  const [pMin, pMax] = data.masquerade[0]!.ports.split('-').map(Number) as [number, number];
  const results: CheckResult[] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const a = await container.peer(proto, ADDRESSES.dns, PEER_PORT);
    const ok = a.ok && a.seen === hostOut && a.port !== null && a.port >= pMin && a.port <= pMax;
    const detail = a.seen
      ? `cnt01 [${a.local}] -> server saw [${a.seen}]:${a.port} (masquerade port in ${pMin}-${pMax}, then NPTv6)`
      : `no answer: ${a.error}`;
    results.push({ name: `${proto.toUpperCase()} cnt01 -> dns.google`, ok, detail });
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${proto.toUpperCase()} cnt01 -> dns.google: ${detail}`);
  }
  out();
  return results;
}

export async function containerTraceroute({ out, container }: LabRun): Promise<CheckResult> {
  out(`traceroute to dns.google from cnt01 (${container.how}; every Time Exceeded and the final Port Unreachable come back through`);
  out('NPTv6 on the gateway and masquerade on the Docker host, with their embedded packet translated too):');
  const ctr = await container.traceroute(ADDRESSES.dns);
  for (const l of ctr.trim().split('\n')) out(`  ${l}`);
  const ctrOk = [ADDRESSES.dockerBridge, ADDRESSES.routerDown, ADDRESSES.gwInside, ADDRESSES.ispDown, ADDRESSES.dns].every((a) => ctr.includes(a));
  out(`  ${ctrOk ? 'ok  ' : 'FAIL'} every hop answered: Docker host, router, gateway, ISP, dns.google`);
  out();
  return { name: 'traceroute cnt01 -> dns.google', ok: ctrOk, detail: ctrOk ? 'every hop answered' : 'hops missing' };
}

// The Docker host's mapping events (NEW for each protocol the checks above used) and its live mappings.
export async function mappingEvents({ out, net, daemons }: LabRun): Promise<CheckResult[]> {
  const host = daemons[0]!;
  await waitFor('mapping events', () => {
    const news = host.records().filter((r) => r.msg === 'mapping' && r.event === 'NEW');
    return ['icmpv6', 'tcp', 'udp'].every((p) => news.some((r) => r.protocol === p));
  }, 5000).catch(() => undefined);
  const events = host.allLines().filter((l) => l.includes('"msg":"mapping"'));
  out(`The Docker host's npt66 log, mapping events (conntrack -E style; DESTROY follows when a mapping expires):`);
  for (const l of events) out(`  ${l}`);
  const eventsOk = ['icmpv6', 'tcp', 'udp'].every((p) => host.records().some((r) => r.msg === 'mapping' && r.event === 'NEW' && r.protocol === p));
  const results: CheckResult[] = [{ name: 'mapping events in the Docker host log', ok: eventsOk, detail: eventsOk ? 'NEW for icmpv6, tcp and udp' : 'missing NEW events' }];
  out();
  out(`npt66 mappings --socket ${host.socket} (on the Docker host, like conntrack -L):`);
  const listing = await exec(net, host.spec.ns, [process.execPath, CLI, 'mappings', '--socket', host.socket]);
  for (const l of (listing.stdout || listing.stderr).trimEnd().split('\n')) out(`  ${l}`);
  const listOk = listing.code === 0 && listing.stdout.includes(`[${ADDRESSES.cnt01}]`);
  results.push({ name: 'npt66 mappings lists the container', ok: listOk, detail: listOk ? 'listed' : 'not listed' });
  out();
  return results;
}

// The gateway's own checks, paths: the Docker host's own traffic (NPTv6 only), inbound, and hairpin.
export async function gatewayPathTraces({ data, out, net, gateway, hostOut, mgmtOut }: LabRun): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  out("The gateway's own checks:");
  out('Path of `ping6 dns.google` from the Docker host itself (its own traffic: NPTv6 only):');
  results.push(
    await tracePing(net, out, 'host', ADDRESSES.dns, [
      { ns: 'router', iface: 'eth0', where: "host's LAN       (router eth0) " },
      { ns: gateway.ns, iface: data.gateway.inside, where: 'gateway inside   (gw eth0)     ' },
      { ns: gateway.ns, iface: data.gateway.outside, where: 'gateway outside  (gw eth1)     ', by: 'npt66 NPTv6 on the gateway' },
      { ns: 'dns', iface: 'eth0', where: 'dns.google       (dns eth0)    ' },
    ], `ping6 host -> dns.google: dns.google sees ${hostOut}`, (e) => e.some((x) => x.kind === 'request' && x.src === hostOut)),
  );
  out();
  out(`Path of \`ping6 ${hostOut}\` from dns.google (inbound, to the host's outside address):`);
  results.push(
    await tracePing(net, out, 'dns', hostOut, [
      { ns: 'dns', iface: 'eth0', where: 'dns.google       (dns eth0)    ' },
      { ns: gateway.ns, iface: data.gateway.outside, where: 'gateway outside  (gw eth1)     ' },
      { ns: gateway.ns, iface: data.gateway.inside, where: 'gateway inside   (gw eth0)     ', by: 'npt66 NPTv6 on the gateway' },
      { ns: 'host', iface: 'ens192', where: 'Docker host      (ens192)      ' },
    ], `ping6 dns.google -> host's outside address: the host sees the request to ${ADDRESSES.host}`, (e) =>
      e.some((x) => x.kind === 'request' && x.dst === ADDRESSES.host)),
  );
  out();
  out(`Hairpin (RFC 6296 s4.3): \`ping6 ${hostOut}\` from mgmt, an inside host, to the host's OUTSIDE address:`);
  results.push(
    await tracePing(net, out, 'mgmt', hostOut, [
      { ns: 'mgmt', iface: 'eth0', where: 'mgmt             (mgmt eth0)   ' },
      // The gateway sends the packet back out of the interface it came in on: both copies show on gw eth0.
      { ns: gateway.ns, iface: data.gateway.inside, where: 'gateway inside   (gw eth0)     ', by: 'npt66 NPTv6 on the gateway (hairpin)' },
      { ns: 'host', iface: 'ens192', where: 'Docker host      (ens192)      ' },
    ], `hairpin ping6 mgmt -> host's outside address: the host sees ${mgmtOut} -> ${ADDRESSES.host}`, (e) =>
      e.some((x) => x.kind === 'request' && x.src === mgmtOut && x.dst === ADDRESSES.host)),
  );
  out();
  return results;
}

// The gateway's own checks, TCP/UDP both ways; then stops the peers containerFlows started.
export async function gatewayFlows({ out, net, hostOut, mgmtOut, servers }: LabRun): Promise<CheckResult[]> {
  out('TCP and UDP both ways through the gateway (each server answers with the address it saw the client come from):');
  const flows: [string, string, string, string, string][] = [
    ['tcp', 'host', ADDRESSES.dns, hostOut, 'host -> dns.google'],
    ['udp', 'host', ADDRESSES.dns, hostOut, 'host -> dns.google'],
    ['tcp', 'mgmt', ADDRESSES.dns, mgmtOut, 'mgmt -> dns.google'],
    ['udp', 'mgmt', ADDRESSES.dns, mgmtOut, 'mgmt -> dns.google'],
    ['tcp', 'dns', hostOut, ADDRESSES.dns, "dns.google -> host's outside address"],
    ['udp', 'dns', hostOut, ADDRESSES.dns, "dns.google -> host's outside address"],
    ['tcp', 'mgmt', hostOut, mgmtOut, "mgmt -> host's outside address (hairpin)"],
  ];
  const results: CheckResult[] = [];
  for (const [proto, from, to, expected, label] of flows) {
    const r = await peerClient(net, from, proto, to, PEER_PORT);
    const seen = /seen-from (\S+)/.exec(r.stdout)?.[1] ?? null;
    const ok = r.code === 0 && seen === expected;
    const detail = ok ? `server saw ${seen}` : `expected the server to see ${expected}, got ${seen ?? r.stderr.trim()}`;
    results.push({ name: `${proto.toUpperCase()} ${label}`, ok, detail });
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${proto.toUpperCase()} ${label}: ${detail}`);
  }
  for (const s of servers) s.kill('SIGTERM');
  out();
  return results;
}

export async function showStats({ out, net, daemons }: LabRun): Promise<void> {
  for (const d of daemons) {
    out(`Counters of the ${d.spec.name}: npt66 stats --socket ${d.socket}`);
    const stats = await exec(net, d.spec.ns, [process.execPath, CLI, 'stats', '--socket', d.socket]);
    for (const l of (stats.stdout || stats.stderr).trimEnd().split('\n')) out(`  ${l}`);
    out();
  }
}

// Returns the exit code: 0 when every check passed.
export function summarize(out: Out, results: CheckResult[]): number {
  const failed = results.filter((r) => !r.ok);
  out(`Summary: ${results.length - failed.length} of ${results.length} checks passed.`);
  for (const f of failed) out(`  FAILED: ${f.name}: ${f.detail}`);
  return failed.length === 0 ? 0 : 1;
}

// --keep: the namespaces and the daemons outlive this process; says how to use and remove them.
export function keepLab({ data, out, net, daemons }: LabRun): void {
  net.keep();
  for (const d of daemons) d.child.unref();
  out();
  out('The lab stays up (--keep). Try, for example:');
  out(`  ip netns exec ${LAB_PREFIX}${data.container.ns} ping6 -c 2 dns.google`);
  out(`  ip netns exec ${LAB_PREFIX}host node ${CLI} mappings --socket ${daemonFiles('docker-host').socket}`);
  out(`  ip netns exec ${LAB_PREFIX}gw node ${CLI} stats --socket ${daemonFiles('gateway').socket}`);
  out(`  npt66's logs: ${daemonFiles('docker-host').log}, ${daemonFiles('gateway').log}`);
  out(`Remove it with: node ${CLI} lab --down`);
}

// SIGTERM to both daemons; true when each exited 0 and left no NPT66 rule behind. The namespaces go after.
export async function stopTranslators({ out, net, daemons }: LabRun): Promise<boolean> {
  out();
  out('Tearing down: SIGTERM to both npt66, which remove their rules and drain their queues before exiting.');
  let clean = true;
  for (const d of daemons) {
    const exitCode = await d.stop();
    const left = (await exec(net, d.spec.ns, ['ip6tables-save'])).stdout.split('\n').filter((l) => l.includes('NPT66'));
    out(`  ${d.spec.name}: npt66 exited with ${exitCode}; NPT66 rules left behind: ${left.length}`);
    if (exitCode !== 0 || left.length) clean = false;
  }
  return clean;
}
