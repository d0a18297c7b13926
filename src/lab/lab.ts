// `npm run lab`: the seed story's gateway side in namespaces, with the real `npt66 run` on the gateway.
// Sends ping6, TCP and UDP both ways (and hairpin, and a traceroute), prints the path hop by hop with the addresses
// before and after translation (tcpdump on each link) and the counters, then tears everything down.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { Topology, waitFor } from '../netns';
import { Translator } from '../translator';
import { buildLab, LAB_PREFIX, type LabNetwork } from './build';
import { TextCapture, type EchoLine } from './capture';
import { ADDRESSES, SEED_AMBIGUITY, SEED_GATEWAY_SIDE, SEED_NPTV6, type LabTopology } from './topology';

const CLI = path.resolve(__dirname, '..', 'cli.js');
const PEER = path.resolve(__dirname, 'peer.js');
export const LAB_DIR = '/run/npt66-lab';
const CONFIG_FILE = path.join(LAB_DIR, 'npt66.json');
const SEED_CONFIG_FILE = path.join(LAB_DIR, 'seed-npt66.json');
const SOCKET = path.join(LAB_DIR, 'npt66.sock');
const DAEMON_LOG = path.join(LAB_DIR, 'npt66.log');

type Out = (text?: string) => void;

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

// Daemon output, whether piped (normal run) or written to a file (--keep).
class Daemon {
  readonly lines: string[] = [];
  constructor(
    readonly child: ChildProcess,
    private readonly logFile: string | null,
  ) {
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
  }

  allLines(): string[] {
    if (!this.logFile) return this.lines;
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  find(msg: string): Record<string, unknown> | null {
    for (const l of this.allLines()) {
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (j.msg === msg) return j;
      } catch {
        /* not JSON */
      }
    }
    return null;
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
export async function runLab(opts: LabOptions, data: LabTopology = SEED_GATEWAY_SIDE): Promise<number> {
  const out = opts.out;
  out('npt66 lab: the gateway side of the seed story (IPv6 for Docker networks), in network namespaces');
  out();
  out('Why two outside prefixes:');
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

  out('Building the network:');
  const net = await buildLab(data);
  let daemon: Daemon | null = null;
  let code = 1;
  try {
    for (const n of data.namespaces) out(`  ${(LAB_PREFIX + n.name).padEnd(18)} ${n.role}`);
    out(`  NPTv6 on ${data.gateway.ns} (outside interface ${data.gateway.outside}):`);
    for (const m of data.nptv6) out(`    ${m.inside} <-> ${m.outside}`);
    out(`  host ${ADDRESSES.host} appears outside as ${hostOut}`);
    out(`  mgmt ${ADDRESSES.mgmt} appears outside as ${mgmtOut}`);
    out();

    // The real daemon, as an operator would run it.
    writeFileSync(
      CONFIG_FILE,
      JSON.stringify({ nptv6: data.nptv6, queues: { first: 0, count: 1 }, failOpen: false, control: { socket: SOCKET } }, null, 2),
    );
    daemon = startDaemon(net, data.gateway.ns, opts.keep);
    const started = daemon;
    await waitFor('npt66 to log "ready"', () => {
      if (started.child.exitCode !== null) throw new Error(`npt66 run exited early:\n${started.allLines().join('\n')}`);
      return started.find('ready') !== null;
    }, 20_000);
    out(`npt66 run -c ${CONFIG_FILE} (in ${LAB_PREFIX}${data.gateway.ns}) is ready:`);
    out(`  ${JSON.stringify(daemon.find('ready'))}`);
    const rules = await exec(net, data.gateway.ns, ['ip6tables-save']);
    out('  its rules (ip6tables-save | grep NPT66):');
    for (const l of rules.stdout.split('\n').filter((x) => x.includes('NPT66') && !x.includes('--icmpv6-type'))) out(`    ${l}`);
    out('    (plus ICMPv6 types 130-137 and 143, Neighbor Discovery and MLD, returned before every queue rule)');
    out();

    const results: CheckResult[] = [];
    out('Path of `ping6 dns.google` from the Docker host, hop by hop (tcpdump on each link):');
    results.push(
      await tracePing(net, out, 'host', ADDRESSES.dns, [
        { ns: 'router', iface: 'eth0', where: "host's LAN     (router eth0)" },
        { ns: data.gateway.ns, iface: data.gateway.inside, where: 'gateway inside (gw eth0)    ' },
        { ns: data.gateway.ns, iface: data.gateway.outside, where: 'gateway outside(gw eth1)    ' },
        { ns: 'dns', iface: 'eth0', where: 'dns.google     (dns eth0)   ' },
      ], `ping6 host -> dns.google: dns.google sees ${hostOut}`, (e) => e.some((x) => x.kind === 'request' && x.src === hostOut)),
    );
    out();
    out(`Path of \`ping6 ${hostOut}\` from dns.google (inbound, to the host's outside address):`);
    results.push(
      await tracePing(net, out, 'dns', hostOut, [
        { ns: 'dns', iface: 'eth0', where: 'dns.google     (dns eth0)   ' },
        { ns: data.gateway.ns, iface: data.gateway.outside, where: 'gateway outside(gw eth1)    ' },
        { ns: data.gateway.ns, iface: data.gateway.inside, where: 'gateway inside (gw eth0)    ' },
        { ns: 'host', iface: 'ens192', where: 'Docker host    (ens192)     ' },
      ], `ping6 dns.google -> host's outside address: the host sees the request to ${ADDRESSES.host}`, (e) =>
        e.some((x) => x.kind === 'request' && x.dst === ADDRESSES.host)),
    );
    out();
    out(`Hairpin (RFC 6296 s4.3): \`ping6 ${hostOut}\` from mgmt, an inside host, to the host's OUTSIDE address:`);
    results.push(
      await tracePing(net, out, 'mgmt', hostOut, [
        { ns: 'mgmt', iface: 'eth0', where: 'mgmt           (mgmt eth0)  ' },
        { ns: data.gateway.ns, iface: data.gateway.inside, where: 'gateway inside (gw eth0)    ' },
        { ns: 'host', iface: 'ens192', where: 'Docker host    (ens192)     ' },
      ], `hairpin ping6 mgmt -> host's outside address: the host sees ${mgmtOut} -> ${ADDRESSES.host}`, (e) =>
        e.some((x) => x.kind === 'request' && x.src === mgmtOut && x.dst === ADDRESSES.host)),
    );
    out();

    out('TCP and UDP both ways (each server answers with the address it saw the client come from):');
    const port = 5300;
    const servers = [];
    for (const ns of ['dns', 'host']) {
      for (const proto of ['tcp', 'udp']) servers.push(await startServer(net, ns, proto, port));
    }
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

    out('traceroute -6 -n dns.google from the Docker host (Time Exceeded and Port Unreachable come back through');
    out('npt66 with their embedded packet translated too, or the hops would not show):');
    const tr = await exec(net, 'host', ['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '8', ADDRESSES.dns]);
    for (const l of tr.stdout.trim().split('\n')) out(`  ${l}`);
    const trOk = tr.stdout.includes(ADDRESSES.dns) && tr.stdout.includes(ADDRESSES.ispDown);
    results.push({ name: 'traceroute host -> dns.google', ok: trOk, detail: trOk ? 'every hop answered' : 'hops missing' });
    out();

    out(`Counters: npt66 stats --socket ${SOCKET}`);
    const stats = await exec(net, data.gateway.ns, [process.execPath, CLI, 'stats', '--socket', SOCKET]);
    for (const l of (stats.stdout || stats.stderr).trimEnd().split('\n')) out(`  ${l}`);
    out();

    const failed = results.filter((r) => !r.ok);
    out(`Summary: ${results.length - failed.length} of ${results.length} checks passed.`);
    for (const f of failed) out(`  FAILED: ${f.name}: ${f.detail}`);
    code = failed.length === 0 ? 0 : 1;

    if (opts.keep) {
      net.keep();
      daemon.child.unref();
      out();
      out('The lab stays up (--keep). Try, for example:');
      out(`  ip netns exec ${LAB_PREFIX}host ping6 -c 2 ${ADDRESSES.dns}`);
      out(`  ip netns exec ${LAB_PREFIX}gw node ${CLI} stats --socket ${SOCKET}`);
      out(`  npt66's log: ${DAEMON_LOG}`);
      out(`Remove it with: node ${CLI} lab --down`);
      return code;
    }

    out();
    out('Tearing down: SIGTERM to npt66, which removes its rules and drains its queue before exiting.');
    daemon.child.kill('SIGTERM');
    const exitCode = await new Promise<number | null>((resolve) => {
      if (started.child.exitCode !== null) resolve(started.child.exitCode);
      else started.child.once('exit', (c) => resolve(c));
    });
    const left = (await exec(net, data.gateway.ns, ['ip6tables-save'])).stdout.split('\n').filter((l) => l.includes('NPT66'));
    out(`  npt66 exited with ${exitCode}; NPT66 rules left behind: ${left.length}`);
    if (exitCode !== 0 || left.length) code = 1;
  } finally {
    if (!opts.keep) {
      net.destroySync();
      rmSync(LAB_DIR, { recursive: true, force: true });
      out('  namespaces removed.');
    }
  }
  return code;
}

function startDaemon(net: LabNetwork, gw: string, keep: boolean): Daemon {
  const argv = [process.execPath, CLI, 'run', '-c', CONFIG_FILE];
  if (!keep) return new Daemon(net.spawn(gw, argv), null);
  // Kept labs outlive this process: detached, output to a file.
  const fd = openSync(DAEMON_LOG, 'w');
  const child = spawn('ip', ['netns', 'exec', net.ns(gw).name, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Daemon(child, DAEMON_LOG);
}

async function startServer(net: LabNetwork, ns: string, proto: string, port: number): Promise<ChildProcess> {
  const child = net.spawn(ns, [process.execPath, PEER, `${proto}-server`, String(port)]);
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (text += d));
  await waitFor(`${proto} server in ${ns}`, () => text.includes('listening'));
  return child;
}

interface CapturePoint {
  ns: string;
  iface: string;
  where: string;
}

// One ping with tcpdump at each point; prints the request going forward and the reply coming back, marking
// where the addresses changed.
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
  const caps: TextCapture[] = [];
  try {
    for (const p of points) caps.push(await TextCapture.start(net, p.ns, p.iface, filter, p.where));
    const ping = await exec(net, from, ['ping', '-6', '-c', '1', '-W', '3', to]);
    // Each point sees the request and the reply (the first and last points may see only one each way).
    await waitFor('captures', () => caps.every((c) => c.echoes().length >= 2), 3000).catch(() => undefined);
    let previous: EchoLine | null = null;
    const show = (c: TextCapture, e: EchoLine) => {
      if (previous && (previous.src !== e.src || previous.dst !== e.dst) && previous.kind === e.kind) {
        const what = [
          ...(previous.src !== e.src ? [`source ${previous.src} -> ${e.src}`] : []),
          ...(previous.dst !== e.dst ? [`destination ${previous.dst} -> ${e.dst}`] : []),
        ];
        out(`      ^ npt66 rewrote the ${what.join(' and the ')}`);
      }
      out(`    ${c.where}  ${e.src} > ${e.dst}  echo ${e.kind}`);
      previous = e;
    };
    for (const c of caps) for (const e of c.echoes().filter((x) => x.kind === 'request')) show(c, e);
    for (const c of [...caps].reverse()) for (const e of c.echoes().filter((x) => x.kind === 'reply')) show(c, e);
    const all = caps.flatMap((c) => c.echoes());
    const ok = ping.code === 0 && expect(all);
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ping.code === 0 ? '' : ` (ping: ${ping.stdout.trim().split('\n').pop()})`}`);
    return { name, ok, detail: ok ? 'ping answered' : 'see the path above' };
  } finally {
    for (const c of caps) c.stop();
  }
}

// `npt66 lab --down`: removes a lab left by --keep (its daemon dies with its namespace).
export function downLab(out: Out): number {
  Topology.removeStale(LAB_PREFIX);
  rmSync(LAB_DIR, { recursive: true, force: true });
  out(`removed every namespace named ${LAB_PREFIX}* and ${LAB_DIR}`);
  return 0;
}
