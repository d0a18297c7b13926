// `npm run lab`: the seed story's whole path in namespaces, with two real `npt66 run` daemons: masquerade on the
// Docker host (cnt01's fd5a:ceb9:ed8d:1::/64 leaves with the host's ens192 address) and NPTv6 on the gateway.
// Runs the article's checks (host <-> container, container -> host, container -> outside), shows the path hop by
// hop with each translation (tcpdump on each link) and the Docker host's mapping events, then the gateway's own
// checks (inbound, hairpin, TCP/UDP both ways, traceroute), the counters, and tears everything down.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../netns';
import { Translator } from '../translator';
import { buildLab, LAB_PREFIX, removeStaleLab, type LabNetwork } from './build';
import { TextCapture, type EchoLine } from './capture';
import { collectLines } from './lines';
import { ADDRESSES, SEED_AMBIGUITY, SEED_LAB, SEED_NPTV6, type LabTopology } from './topology';

const CLI = path.resolve(__dirname, '..', 'cli.js');
const PEER = path.resolve(__dirname, 'peer.js');
export const LAB_DIR = '/run/npt66-lab';
const SEED_CONFIG_FILE = path.join(LAB_DIR, 'seed-npt66.json');

type Out = (text?: string) => void;

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

// One `npt66 run` in one namespace: its files and its output, whether piped (normal run) or in a file (--keep).
interface DaemonSpec {
  name: string; // "docker-host" or "gateway"
  ns: string;
  config: Record<string, unknown>;
}

const files = (name: string) => ({
  config: path.join(LAB_DIR, `${name}.json`),
  socket: path.join(LAB_DIR, `${name}.sock`),
  log: path.join(LAB_DIR, `${name}.log`),
});

class Daemon {
  readonly lines: string[] = [];
  constructor(
    readonly spec: DaemonSpec,
    readonly child: ChildProcess,
    private readonly logFile: string | null,
  ) {
    collectLines(child.stdout, this.lines);
  }

  get socket(): string {
    return files(this.spec.name).socket;
  }

  allLines(): string[] {
    if (!this.logFile) return this.lines;
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  records(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.allLines()) {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* not JSON */
      }
    }
    return out;
  }

  find(msg: string): Record<string, unknown> | null {
    return this.records().find((r) => r.msg === msg) ?? null;
  }

  async ready(): Promise<void> {
    await waitFor(`npt66 (${this.spec.name}) to log "ready"`, () => {
      if (this.child.exitCode !== null) throw new Error(`npt66 run (${this.spec.name}) exited early:\n${this.allLines().join('\n')}`);
      return this.find('ready') !== null;
    }, 20_000);
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.once('exit', (c) => resolve(c));
    });
  }
}

function outsideOf(translator: Translator, address: string): string {
  const r = translator.mapAddress(address, 'outbound');
  if (!r.output) throw new Error(`lab: ${address} does not translate (${r.reason})`);
  return r.output;
}

async function exec(net: LabNetwork, ns: string, argv: string[]) {
  return net.ns(ns).exec(argv, { allowFailure: true, timeoutMs: 30_000 });
}

export interface LabOptions {
  keep: boolean;
  out: Out;
}

// Builds, exercises and (unless keep) removes the lab. Returns the exit code: 0 when every check passed.
export async function runLab(opts: LabOptions, data: LabTopology = SEED_LAB): Promise<number> {
  const out = opts.out;
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

  const translator = new Translator(data.nptv6);
  const hostOut = outsideOf(translator, ADDRESSES.host);
  const mgmtOut = outsideOf(translator, ADDRESSES.mgmt);
  const dockerHost: DaemonSpec = {
    name: 'docker-host',
    ns: data.dockerHost.ns,
    config: { masquerade: data.masquerade, control: { socket: files('docker-host').socket } },
  };
  const gateway: DaemonSpec = {
    name: 'gateway',
    ns: data.gateway.ns,
    config: { nptv6: data.nptv6, queues: { first: 0, count: 1 }, failOpen: false, control: { socket: files('gateway').socket } },
  };

  out('Building the network:');
  const net = await buildLab(data);
  const daemons: Daemon[] = [];
  let code = 1;
  try {
    for (const n of data.namespaces) out(`  ${(LAB_PREFIX + n.name).padEnd(18)} ${n.role}`);
    for (const s of data.sysctls) out(`  sysctl ${s.key}=${s.value} in ${LAB_PREFIX}${s.ns} (${s.why}; kernel conntrack must remember flows as long)`);
    for (const h of data.hosts) out(`  /etc/netns/${LAB_PREFIX}${h.ns}/hosts: ${h.address} ${h.name}`);
    out();

    // The real daemons, as an operator would run them: one per namespace (queues and rules are per namespace).
    for (const spec of [dockerHost, gateway]) {
      writeFileSync(files(spec.name).config, JSON.stringify(spec.config, null, 2));
      const d = startDaemon(net, spec, opts.keep);
      daemons.push(d);
      await d.ready();
    }
    const masq = (daemons[0]!.find('ready')?.masquerade as { address?: string }[] | undefined)?.[0];
    if (masq?.address !== ADDRESSES.host) throw new Error(`lab: the Docker host's npt66 masquerades to ${masq?.address}, expected ${ADDRESSES.host}`);
    out('Translations:');
    for (const m of data.masquerade) {
      out(`  Docker host (${LAB_PREFIX}${dockerHost.ns}), npt66 masquerade: ${m.source} -> ${masq.address} ports ${m.ports}`);
      out(`    (no "address" in its configuration: npt66 took ${m.interface}'s stable global address)`);
    }
    for (const m of data.nptv6) out(`  gateway (${LAB_PREFIX}${gateway.ns}), npt66 NPTv6: ${m.inside} <-> ${m.outside}`);
    out(`  so the Docker host ${ADDRESSES.host} appears outside as ${hostOut}, mgmt ${ADDRESSES.mgmt} as ${mgmtOut}`);
    out();
    for (const d of daemons) {
      out(`npt66 run -c ${files(d.spec.name).config} (in ${LAB_PREFIX}${d.spec.ns}) is ready:`);
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

    const results: CheckResult[] = [];
    const cnt = data.container.ns;
    out("The article's checks:");
    results.push(await pingCheck(net, out, data.dockerHost.ns, ADDRESSES.cnt01, 'Docker host -> container (ping6 fd5a:ceb9:ed8d:1::2, plain routing over br_ipv6_nw)'));
    results.push(await pingCheck(net, out, cnt, ADDRESSES.dockerBridge, 'container -> Docker host bridge (ping6 fd5a:ceb9:ed8d:1::1)'));
    results.push(await pingCheck(net, out, cnt, ADDRESSES.host, "container -> Docker host's ens192 address (delivered locally, not masqueraded)"));
    out();
    out('container -> outside: `ping6 dns.google` in cnt01, hop by hop (tcpdump on each link):');
    results.push(
      await tracePing(net, out, cnt, 'dns.google', [
        { ns: cnt, iface: data.container.iface, where: 'cnt01            (cnt01 eth0)  ' },
        { ns: data.dockerHost.ns, iface: data.dockerHost.outside, where: 'Docker host out  (host ens192) ', by: 'npt66 masquerade on the Docker host' },
        { ns: gateway.ns, iface: data.gateway.inside, where: 'gateway inside   (gw eth0)     ' },
        { ns: gateway.ns, iface: data.gateway.outside, where: 'gateway outside  (gw eth1)     ', by: 'npt66 NPTv6 on the gateway' },
        { ns: 'dns', iface: 'eth0', where: 'dns.google       (dns eth0)    ' },
      ], `ping6 dns.google from cnt01: dns.google sees ${hostOut}`, (e) => e.some((x) => x.kind === 'request' && x.src === hostOut) && e.some((x) => x.kind === 'reply' && x.dst === ADDRESSES.cnt01)),
    );
    out();

    out('TCP and UDP from cnt01 to dns.google (the server answers with the address and port it saw):');
    const port = 5300;
    const servers: ChildProcess[] = [];
    for (const ns of ['dns', 'host']) {
      for (const proto of ['tcp', 'udp']) servers.push(await startServer(net, ns, proto, port));
    }
    const [pMin, pMax] = data.masquerade[0]!.ports.split('-').map(Number) as [number, number];
    for (const proto of ['tcp', 'udp']) {
      const r = await exec(net, cnt, [process.execPath, PEER, `${proto}-client`, ADDRESSES.dns, String(port)]);
      const m = /local (\S+) seen-from (\S+) port (\d+)/.exec(r.stdout);
      const seenPort = Number(m?.[3]);
      const ok = r.code === 0 && m?.[2] === hostOut && seenPort >= pMin && seenPort <= pMax;
      const detail = m
        ? `cnt01 [${m[1]}] -> server saw [${m[2]}]:${m[3]} (masquerade port in ${pMin}-${pMax}, then NPTv6)`
        : `no answer: ${r.stderr.trim()}`;
      results.push({ name: `${proto.toUpperCase()} cnt01 -> dns.google`, ok, detail });
      out(`  ${ok ? 'ok  ' : 'FAIL'} ${proto.toUpperCase()} cnt01 -> dns.google: ${detail}`);
    }
    out();

    out('traceroute -6 -n dns.google from cnt01 (every Time Exceeded and the final Port Unreachable come back through');
    out('NPTv6 on the gateway and masquerade on the Docker host, with their embedded packet translated too):');
    const ctr = await exec(net, cnt, ['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '8', ADDRESSES.dns]);
    for (const l of ctr.stdout.trim().split('\n')) out(`  ${l}`);
    const ctrOk = [ADDRESSES.dockerBridge, ADDRESSES.routerDown, ADDRESSES.gwInside, ADDRESSES.ispDown, ADDRESSES.dns].every((a) => ctr.stdout.includes(a));
    results.push({ name: 'traceroute cnt01 -> dns.google', ok: ctrOk, detail: ctrOk ? 'every hop answered' : 'hops missing' });
    out(`  ${ctrOk ? 'ok  ' : 'FAIL'} every hop answered: Docker host, router, gateway, ISP, dns.google`);
    out();

    const host = daemons[0]!;
    await waitFor('mapping events', () => {
      const news = host.records().filter((r) => r.msg === 'mapping' && r.event === 'NEW');
      return ['icmpv6', 'tcp', 'udp'].every((p) => news.some((r) => r.protocol === p));
    }, 5000).catch(() => undefined);
    const events = host.allLines().filter((l) => l.includes('"msg":"mapping"'));
    out(`The Docker host's npt66 log, mapping events (conntrack -E style; DESTROY follows when a mapping expires):`);
    for (const l of events) out(`  ${l}`);
    const eventsOk = ['icmpv6', 'tcp', 'udp'].every((p) => host.records().some((r) => r.msg === 'mapping' && r.event === 'NEW' && r.protocol === p));
    results.push({ name: 'mapping events in the Docker host log', ok: eventsOk, detail: eventsOk ? 'NEW for icmpv6, tcp and udp' : 'missing NEW events' });
    out();
    out(`npt66 mappings --socket ${host.socket} (on the Docker host, like conntrack -L):`);
    const listing = await exec(net, host.spec.ns, [process.execPath, CLI, 'mappings', '--socket', host.socket]);
    for (const l of (listing.stdout || listing.stderr).trimEnd().split('\n')) out(`  ${l}`);
    const listOk = listing.code === 0 && listing.stdout.includes(`[${ADDRESSES.cnt01}]`);
    results.push({ name: 'npt66 mappings lists the container', ok: listOk, detail: listOk ? 'listed' : 'not listed' });
    out();

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
    for (const [proto, from, to, expected, label] of flows) {
      const r = await exec(net, from, [process.execPath, PEER, `${proto}-client`, to, String(port)]);
      const seen = /seen-from (\S+)/.exec(r.stdout)?.[1] ?? null;
      const ok = r.code === 0 && seen === expected;
      const detail = ok ? `server saw ${seen}` : `expected the server to see ${expected}, got ${seen ?? r.stderr.trim()}`;
      results.push({ name: `${proto.toUpperCase()} ${label}`, ok, detail });
      out(`  ${ok ? 'ok  ' : 'FAIL'} ${proto.toUpperCase()} ${label}: ${detail}`);
    }
    for (const s of servers) s.kill('SIGTERM');
    out();

    for (const d of daemons) {
      out(`Counters of the ${d.spec.name}: npt66 stats --socket ${d.socket}`);
      const stats = await exec(net, d.spec.ns, [process.execPath, CLI, 'stats', '--socket', d.socket]);
      for (const l of (stats.stdout || stats.stderr).trimEnd().split('\n')) out(`  ${l}`);
      out();
    }

    const failed = results.filter((r) => !r.ok);
    out(`Summary: ${results.length - failed.length} of ${results.length} checks passed.`);
    for (const f of failed) out(`  FAILED: ${f.name}: ${f.detail}`);
    code = failed.length === 0 ? 0 : 1;

    if (opts.keep) {
      net.keep();
      for (const d of daemons) d.child.unref();
      out();
      out('The lab stays up (--keep). Try, for example:');
      out(`  ip netns exec ${LAB_PREFIX}${cnt} ping6 -c 2 dns.google`);
      out(`  ip netns exec ${LAB_PREFIX}host node ${CLI} mappings --socket ${files('docker-host').socket}`);
      out(`  ip netns exec ${LAB_PREFIX}gw node ${CLI} stats --socket ${files('gateway').socket}`);
      out(`  npt66's logs: ${files('docker-host').log}, ${files('gateway').log}`);
      out(`Remove it with: node ${CLI} lab --down`);
      return code;
    }

    out();
    out('Tearing down: SIGTERM to both npt66, which remove their rules and drain their queues before exiting.');
    for (const d of daemons) {
      const exitCode = await d.stop();
      const left = (await exec(net, d.spec.ns, ['ip6tables-save'])).stdout.split('\n').filter((l) => l.includes('NPT66'));
      out(`  ${d.spec.name}: npt66 exited with ${exitCode}; NPT66 rules left behind: ${left.length}`);
      if (exitCode !== 0 || left.length) code = 1;
    }
  } finally {
    if (!opts.keep) {
      net.destroySync();
      rmSync(LAB_DIR, { recursive: true, force: true });
      out('  namespaces removed.');
    }
  }
  return code;
}

function startDaemon(net: LabNetwork, spec: DaemonSpec, keep: boolean): Daemon {
  const argv = [process.execPath, CLI, 'run', '-c', files(spec.name).config];
  if (!keep) return new Daemon(spec, net.spawn(spec.ns, argv), null);
  // Kept labs outlive this process: detached, output to a file.
  const logFile = files(spec.name).log;
  const fd = openSync(logFile, 'w');
  const child = spawn('ip', ['netns', 'exec', net.ns(spec.ns).name, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Daemon(spec, child, logFile);
}

async function startServer(net: LabNetwork, ns: string, proto: string, port: number): Promise<ChildProcess> {
  const child = net.spawn(ns, [process.execPath, PEER, `${proto}-server`, String(port)]);
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (text += d));
  await waitFor(`${proto} server in ${ns}`, () => text.includes('listening'));
  return child;
}

async function pingCheck(net: LabNetwork, out: Out, from: string, to: string, name: string): Promise<CheckResult> {
  const r = await exec(net, from, ['ping', '-6', '-c', '1', '-W', '3', to]);
  const rtt = /time=(\S+ ms)/.exec(r.stdout)?.[1];
  const ok = r.code === 0;
  out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? `: answered in ${rtt}` : ''}`);
  return { name, ok, detail: ok ? 'answered' : 'no answer' };
}

interface CapturePoint {
  ns: string;
  iface: string;
  where: string;
  by?: string; // the translator between the previous point and this one
}

// One ping with tcpdump at each point; prints the request going forward and the reply coming back, marking
// where the addresses (and the echo identifier) changed and which npt66 changed them.
async function tracePing(
  net: LabNetwork,
  out: Out,
  from: string,
  to: string,
  points: CapturePoint[],
  name: string,
  expect: (all: EchoLine[]) => boolean,
): Promise<CheckResult> {
  const filter = 'icmp6 and (ip6[40] == 128 or ip6[40] == 129)';
  const caps: { point: CapturePoint; cap: TextCapture }[] = [];
  try {
    for (const p of points) caps.push({ point: p, cap: await TextCapture.start(net, p.ns, p.iface, filter, p.where) });
    const ping = await exec(net, from, ['ping6', '-c', '1', '-W', '3', to]);
    // Each point sees the request and the reply (the first and last points may see only one each way).
    await waitFor('captures', () => caps.every((c) => c.cap.echoes().length >= 2), 3000).catch(() => undefined);
    const show = (lines: { point: CapturePoint; e: EchoLine }[], forward: boolean) => {
      let prev: { point: CapturePoint; e: EchoLine } | null = null;
      for (const cur of lines) {
        if (prev && (prev.e.src !== cur.e.src || prev.e.dst !== cur.e.dst || prev.e.id !== cur.e.id)) {
          const what = [
            ...(prev.e.src !== cur.e.src ? [`source ${prev.e.src} -> ${cur.e.src}`] : []),
            ...(prev.e.dst !== cur.e.dst ? [`destination ${prev.e.dst} -> ${cur.e.dst}`] : []),
            ...(prev.e.id !== cur.e.id ? [`echo id ${prev.e.id} -> ${cur.e.id}`] : []),
          ];
          const by = (forward ? cur.point.by : prev.point.by) ?? 'npt66';
          out(`      ^ ${by} rewrote the ${what.join(', the ')}`);
        }
        out(`    ${cur.point.where}  ${cur.e.src} > ${cur.e.dst}  echo ${cur.e.kind} id ${cur.e.id}`);
        prev = cur;
      }
    };
    const of = (kind: EchoLine['kind'], list: typeof caps) => list.flatMap((c) => c.cap.echoes().filter((x) => x.kind === kind).map((e) => ({ point: c.point, e })));
    show(of('request', caps), true);
    show(of('reply', [...caps].reverse()), false);
    const all = caps.flatMap((c) => c.cap.echoes());
    const ok = ping.code === 0 && expect(all);
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ping.code === 0 ? '' : ` (ping: ${ping.stdout.trim().split('\n').pop()})`}`);
    return { name, ok, detail: ok ? 'ping answered' : 'see the path above' };
  } finally {
    for (const c of caps) c.cap.stop();
  }
}

// `npt66 lab --down`: removes a lab left by --keep (its daemons die with their namespaces).
export function downLab(out: Out): number {
  removeStaleLab(LAB_PREFIX);
  rmSync(LAB_DIR, { recursive: true, force: true });
  out(`removed every namespace named ${LAB_PREFIX}*, their /etc/netns files, and ${LAB_DIR}`);
  return 0;
}
