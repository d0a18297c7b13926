// Issue 10 parts 2 and 3, with a real Docker Engine: `docker run -p` on a network that `"source": "docker"`
// follows becomes an npt66 forward on the host's address, so the container sees the client's own address (not
// docker-proxy's, as Docker alone shows it over IPv6). One private dockerd (lib/docker_engine.ts) in the namespace
// "host" (the Docker host), linked to "out" (a client beyond it, which knows no route to any container prefix).
// - a published TCP port (busybox httpd in the container, its CGI prints REMOTE_ADDR) and a published UDP port
//   (an echo server in the container's network namespace logs each sender): "out" reaches both at
//   [host]:HOSTPORT, the container sees "out"'s own address, the answers come back;
// - a reload (SIGHUP) adding a static forward while a slow TCP download runs through another published port:
//   the download completes (sha256 equal) and the new forward works at once, also hairpinned from another
//   container; the host's own connections to its address are left to it (docker-proxy, or refused);
// - the container stopped: its forwards go (rules and table), a connection to the port is refused by the host
//   itself and nothing more reaches inside.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { waitFor } from '../../src/netns';
import { dockerUnavailable, IMAGE, PrivateDocker } from '../../src/lab/docker_engine';
import { DOCKER_HOST_ADDR, DOCKER_OUT_ADDR, DockerHostLab } from './lib/docker_host_lab';
import { LineProcess } from './lib/line_process';
import { CLI_PATH, jsonMsg, npt66RulesIn, parseJson } from './lib/npt66_daemon';
import { TOOL_PATH } from './lib/traffic';

const PREFIX = 'nt-dp-';
const HOST = DOCKER_HOST_ADDR; // the Docker host's address on its uplink: the masquerade address
const OUT = DOCKER_OUT_ADDR;
const SUBNET = 'fd5a:ceb9:ed8d:1::/64';
const BULK_BYTES = 12 << 20; // peer_reporter sends it in about 4 s: long enough to reload during it
const PEER_TOOL = resolve(__dirname, 'lib/peer_reporter.js');
// The web container's CGI: what busybox httpd tells it about the peer (inside the container itself).
const CGI = '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "peer $REMOTE_ADDR $REMOTE_PORT"\\n';

const skip = dockerUnavailable();

describe('Docker -p as npt66 forwards with a real dockerd', { skip: skip ? `Docker cannot run here: ${skip}` : false }, () => {
  const lab = new DockerHostLab(PREFIX);
  const { topo, configFile } = lab;
  const inContainer = lab.extra; // servers run in a container's network namespace: killed in after()
  let docker: PrivateDocker;
  let npt66: LineProcess;

  const config = (forwards?: unknown[]) => ({
    masquerade: [{ source: 'docker', interface: 'eth0', ...(forwards ? { forwards } : {}) }],
    control: { socket: lab.socket },
  });
  const rules = async () => (await npt66RulesIn(topo.ns('host'))).join('\n');
  const stats = async () => {
    const r = await topo.ns('host').exec([process.execPath, CLI_PATH, 'stats', '--json', '--socket', lab.socket]);
    return JSON.parse(r.stdout) as { total: Record<string, number>; masquerade: { dockerForwards?: string[] }[] };
  };
  // The published ports npt66 forwards now, from its log (from line `from` on), once `want` holds.
  const forwardsNow = async (from: number, want: (f: string[]) => boolean, what: string) => {
    let found: string[] = [];
    const line = (l: string) => (jsonMsg(l) ?? '').includes("Docker's published ports forwarded now");
    await npt66.waitForLine(what, (l) => line(l) && want((found = (parseJson(l)?.forwards as string[]) ?? [])), 30_000, from);
    return found;
  };
  const inspect = async (name: string, format: string) => (await docker.docker(['inspect', '-f', format, name])).stdout.trim();
  // A node tool in container `name`'s network namespace (what the container's own sockets see).
  const inNetns = async (name: string, argv: string[], label: string) => {
    const pid = await inspect(name, '{{.State.Pid}}');
    const p = new LineProcess(spawn('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }), label);
    inContainer.push(p);
    return p;
  };
  const fromOut = (argv: string[]) => topo.ns('out').exec(argv, { allowFailure: true, timeoutMs: 60_000 });
  // GET /cgi-bin/peer from out with node's http (the CGI's header lines end in LF alone, which only the lenient
  // parser takes; busybox wget on the host fails on them).
  const GET = `require('http').get(process.argv[1], { timeout: 5000, insecureHTTPParser: true }, (r) => r.pipe(process.stdout)).on('timeout', function () { this.destroy(new Error('timeout')); }).on('error', (e) => { console.error(e.message); process.exit(1); })`;
  const wget = (port: number) => fromOut([process.execPath, '-e', GET, `http://[${HOST}]:${port}/cgi-bin/peer`]);

  before(async () => {
    docker = await lab.build();
    await docker.docker(['network', 'create', '--ipv6', '--driver=bridge', `--subnet=${SUBNET}`, '-o', `com.docker.network.bridge.name=${PREFIX}br1`, 'br_ipv6_nw']);
    writeFileSync(configFile, JSON.stringify(config()));
    npt66 = new LineProcess(topo.spawn('host', ['env', `DOCKER_HOST=${docker.host}`, process.execPath, CLI_PATH, 'run', '-c', configFile]), 'npt66 run');
    await npt66.waitForLine('"msg":"ready"', (l) => jsonMsg(l) === 'ready', 20_000);
  });

  after(async () => {
    lab.npt66 = npt66;
    await lab.teardown();
  });

  let web = ''; // the web container's IPv6 address
  let bulk = '';
  let bulkSha = '';

  test('a published TCP and UDP port: the container sees the client\'s own address, the answers come back', async () => {
    const from = npt66.lines.length;
    await docker.docker([
      'run', '-d', '--network', 'br_ipv6_nw', '--name', 'web', '-p', '8080:80', '-p', '5353:53/udp', IMAGE,
      'sh', '-c', `mkdir -p /www/cgi-bin && printf '${CGI}' > /www/cgi-bin/peer && chmod +x /www/cgi-bin/peer && exec httpd -f -p 80 -h /www`,
    ]);
    web = await inspect('web', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}');
    assert.match(web, /^fd5a:ceb9:ed8d:1:/);
    const forwards = await forwardsNow(from, (f) => f.length === 2, 'both published ports forwarded');
    assert.deepEqual(forwards, [`tcp/8080 -> [${web}]:80`, `udp/5353 -> [${web}]:53`]);
    assert.match(await rules(), /\b8080\b/, "the published port is queued");

    // TCP: busybox httpd in the container runs the CGI with the peer it accepted.
    let page = '';
    let why = '';
    await waitFor('httpd to answer through [host]:8080', async () => {
      const r = await wget(8080);
      page = r.stdout;
      why = r.stderr;
      return r.code === 0;
    }, 20_000).catch((e: Error) => assert.fail(`${e.message}: ${why}`));
    assert.match(page.trim(), new RegExp(`^peer \\[?${OUT}\\]? \\d+$`), `the container saw: ${page}`);

    // UDP: an echo server in the container's network namespace logs each sender; the answers return to out.
    const echo = await inNetns('web', [TOOL_PATH, 'udp-echo', '53'], 'udp-echo in web');
    await echo.waitForLine('listening', (l) => l.includes('"listening"'));
    const ping = await fromOut([process.execPath, TOOL_PATH, 'udp-ping', HOST, '5353', '3', '41053']);
    const done = ping.stdout.split('\n').map((l) => parseJson(l)).find((o) => o?.event === 'done') as { received: number; from: string[] } | undefined;
    assert.equal(done?.received, 3, `out got its answers: ${ping.stdout}${ping.stderr}`);
    assert.deepEqual(done?.from, [HOST], 'the answers come from the host\'s address');
    const senders = echo.lines.map((l) => parseJson(l)).filter((o) => o?.event === 'datagram');
    assert.ok(senders.length >= 3, echo.lines.join('\n'));
    assert.deepEqual([...new Set(senders.map((o) => `[${o!.from}]:${o!.port}`))], [`[${OUT}]:41053`], 'the container sees the client itself');
    const t = (await stats()).total;
    assert.ok((t.nat66_forward_inbound ?? 0) > 0 && (t.nat66_forward_outbound ?? 0) > 0, JSON.stringify(t));
  });

  test('a reload adding a static forward under a download through another published port: the download completes (sha256 equal)', async () => {
    let from = npt66.lines.length;
    await docker.docker(['run', '-d', '--network', 'br_ipv6_nw', '--name', 'bulk', '-p', '8081:7001', IMAGE, 'sleep', '1000']);
    bulk = await inspect('bulk', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}');
    const reporter = await inNetns('bulk', [PEER_TOOL, '7000', String(BULK_BYTES)], 'peer_reporter in bulk');
    bulkSha = (JSON.parse(await reporter.waitForLine('listening', (l) => l.includes('"listening"'))) as { sha256: string }).sha256;
    await forwardsNow(from, (f) => f.includes(`tcp/8081 -> [${bulk}]:7001`), 'the bulk port forwarded');

    const download = new LineProcess(topo.spawn('out', [process.execPath, TOOL_PATH, 'tcp-fetch', HOST, '8081']), 'download');
    await reporter.waitForLine('the download started', (l) => l.includes('"bulk"'));
    assert.ok(reporter.lines.some((l) => l.includes(`"bulk":"${OUT}"`)), `the container saw the client: ${reporter.lines.join(' ')}`);

    from = npt66.lines.length;
    writeFileSync(configFile, JSON.stringify(config([{ protocol: 'tcp', port: 9090, to: `[${bulk}]:7000` }])));
    npt66.child.kill('SIGHUP');
    await npt66.waitForLine('reloaded (static forward added)', (l) => jsonMsg(l) === 'reloaded', 20_000, from);
    assert.equal(download.exit, null, `the download still runs after the reload: ${download.lines.join(' ')} ${download.stderr}`);
    // The static forward works at once: peer_reporter's TCP 7000 answers with the address it saw.
    const r = await fromOut(['busybox', 'nc', HOST, '9090']);
    assert.equal(r.stdout.trim(), `from ${OUT}`, `through the static forward: ${r.stderr}`);
    // Hairpin (RFC 4787 REQ-9): another container reaches the published port at the host's address and is seen
    // by its mapped outside endpoint, the host's address, never by its inside one.
    const hairpin = await docker.docker(['exec', 'web', 'sh', '-c', `nc ${HOST} 9090 </dev/null`], true);
    assert.equal(hairpin.stdout.trim(), `from ${HOST}`, `web -> [host]:9090: ${hairpin.stderr}`);
    // The host's own connections to its masquerade address are not forwarded (rules/plan.ts, Loopback): docker-proxy
    // serves a Docker port (the container sees the bridge's address), a static forward's port is refused at once
    // (forwarded, the inside answer would be delivered locally untranslated and the connection hang).
    const own = await topo.ns('host').exec([process.execPath, '-e', GET, `http://[${HOST}]:8080/cgi-bin/peer`], { allowFailure: true, timeoutMs: 30_000 });
    assert.match(own.stdout.trim(), /^peer \[?fd5a:ceb9:ed8d:1::1\]? \d+$/, `the host's own GET through docker-proxy: ${own.stdout}${own.stderr}`);
    const refused = await topo.ns('host').exec(['timeout', '10', 'busybox', 'nc', HOST, '9090'], { allowFailure: true });
    assert.equal(refused.code, 1, `refused, not hanging (124 is the timeout): ${refused.stderr}`);
    assert.match(refused.stderr, /refused/i);

    const exit = await download.waitExit(60_000);
    assert.equal(exit.code, 0, download.stderr);
    const got = download.lines.map((l) => parseJson(l)).find((o) => o?.event === 'done') as { bytes: number; sha256: string } | undefined;
    assert.equal(got?.bytes, BULK_BYTES);
    assert.equal(got?.sha256, bulkSha, 'the download arrived whole');
  });

  test('the container stopped: its forwards go, the port is refused by the host, nothing reaches inside', async () => {
    const from = npt66.lines.length;
    await docker.docker(['stop', '-t', '1', 'web']);
    const left = await forwardsNow(from, (f) => !f.some((x) => x.startsWith('tcp/8080')), 'web\'s forwards gone');
    assert.deepEqual(left, [`tcp/8081 -> [${bulk}]:7001`]);
    await waitFor('8080 out of the rules', async () => !/\b8080\b/.test(await rules()));
    const before = (await stats()).total.nat66_forward_inbound ?? 0;
    const r = await wget(8080);
    assert.notEqual(r.code, 0, `nothing answers on [host]:8080 any more: ${r.stdout}`);
    assert.match(r.stderr, /refused/i, 'the host itself refuses it (no forward, nothing listening)');
    assert.equal((await stats()).total.nat66_forward_inbound ?? 0, before, 'nothing was forwarded inside');
  });
});
