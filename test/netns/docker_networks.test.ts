// Issue 10, with a real Docker Engine: `"source": "docker"` masquerades every IPv6 subnet of the local Docker
// Engine's bridge networks, followed live. One private dockerd for the file (src/lab/docker_engine.ts), in the
// namespace "host" (the Docker host) linked to "out" (a host beyond it, which knows no route to any container
// prefix: an answer gets back only if the container's packets left with the host's address).
// - a network created after npt66 started: its container's ping, TCP and UDP (DNS) leave with the host's address
//   (what "out" saw, and what the container got back); the network removed: its prefix leaves the rules, its
//   mappings go (nat66_mapping_unsourced);
// - a reload (SIGHUP) adding and then removing a configured source under a slow TCP download from a container:
//   the download completes with the right md5 (the remaining sources' mappings live on);
// - dockerd stopped and started while npt66 runs: a warning, no crash, the last known subnets stay in the rules;
//   after the restart a resync, and a network created then is followed.
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

const PREFIX = 'nt-dk-';
const HOST = DOCKER_HOST_ADDR; // the Docker host's address on its uplink: what the containers must leave with
const OUT = DOCKER_OUT_ADDR;
const PORT = 7000; // TCP: "from ADDR"; PORT+1: the slow download
const BULK_BYTES = 12 << 20;
const PEER_TOOL = resolve(__dirname, 'lib/peer_reporter.js');

const skip = dockerUnavailable();

describe('masquerade "source": "docker" with a real dockerd', { skip: skip ? `Docker cannot run here: ${skip}` : false }, () => {
  const lab = new DockerHostLab(PREFIX);
  const { topo, configFile } = lab;
  let docker: PrivateDocker;
  let npt66: LineProcess;
  let peer: LineProcess;
  let bulkMd5 = '';

  const config = (source: string | string[]) => ({ masquerade: [{ source, interface: 'eth0' }], control: { socket: lab.socket } });

  // A log line of npt66's (from index `from` on) whose message includes `text`.
  const logged = (text: string, from = 0, timeoutMs = 20_000) =>
    npt66.waitForLine(JSON.stringify(text), (l) => (jsonMsg(l) ?? '').includes(text), timeoutMs, from);
  const subnetsLine = (l: string) => (jsonMsg(l) ?? '').includes("Docker's IPv6 subnets now");
  const subnetsNow = async (from: number, want: (subnets: string[]) => boolean, what: string) => {
    let found: string[] = [];
    await npt66.waitForLine(what, (l) => subnetsLine(l) && want((found = (parseJson(l)?.subnets as string[]) ?? [])), 20_000, from);
    return found;
  };
  const rules = async () => (await npt66RulesIn(topo.ns('host'))).join('\n');
  const stats = async () => {
    const r = await topo.ns('host').exec([process.execPath, CLI_PATH, 'stats', '--json', '--socket', lab.socket]);
    return JSON.parse(r.stdout) as { total: Record<string, number> };
  };
  const exec = (name: string, script: string) => docker.docker(['exec', name, 'sh', '-c', script], true);

  async function network(name: string, subnet: string, bridge: string): Promise<void> {
    await docker.docker(['network', 'create', '--ipv6', '--driver=bridge', `--subnet=${subnet}`, '-o', `com.docker.network.bridge.name=${bridge}`, name]);
  }

  async function container(name: string, net: string): Promise<void> {
    await docker.docker(['run', '-d', '--network', net, '--name', name, IMAGE, 'sleep', '1000']);
  }

  before(async () => {
    docker = await lab.build();
    peer = new LineProcess(topo.spawn('out', [process.execPath, PEER_TOOL, String(PORT), String(BULK_BYTES)]), 'peer');
    const ready = await peer.waitForLine('listening', (l) => l.includes('"listening"'));
    bulkMd5 = (JSON.parse(ready) as { md5: string }).md5;
    writeFileSync(configFile, JSON.stringify(config('docker')));
    npt66 = new LineProcess(topo.spawn('host', ['env', `DOCKER_HOST=${docker.host}`, process.execPath, CLI_PATH, 'run', '-c', configFile]), 'npt66 run');
    await npt66.waitForLine('"msg":"ready"', (l) => jsonMsg(l) === 'ready', 20_000);
  });

  after(async () => {
    lab.npt66 = npt66;
    await lab.teardown();
  });

  test('a network created after npt66 started is masqueraded (ping, TCP, UDP); removed, its prefix and mappings go', async () => {
    const from = npt66.lines.length;
    await network('br_ipv6_nw', 'fd5a:ceb9:ed8d:1::/64', `${PREFIX}br1`);
    assert.deepEqual(await subnetsNow(from, (s) => s.includes('fd5a:ceb9:ed8d:1::/64'), 'the new subnet followed'), ['fd5a:ceb9:ed8d:1::/64']);
    assert.match(await rules(), /-s fd5a:ceb9:ed8d:1::\/64 .*NPT66-OUTQ/);
    await container('cnt01', 'br_ipv6_nw');

    const ping = await exec('cnt01', `ping6 -c 2 -W 3 ${OUT}`);
    assert.equal(ping.code, 0, `ping from cnt01: ${ping.stdout}${ping.stderr}`);
    const tcp = await exec('cnt01', `nc ${OUT} ${PORT} </dev/null`);
    assert.equal(tcp.stdout.trim(), `from ${HOST}`, `TCP: what out saw, told back to cnt01 (${tcp.stderr})`);
    const udp = await exec('cnt01', `nslookup -type=aaaa seen.example ${OUT}`);
    assert.match(udp.stdout, new RegExp(`Address: ${HOST.replace(/\./g, '\\.')}\\b`), `UDP (DNS): ${udp.stdout}${udp.stderr}`);
    assert.ok(peer.lines.some((l) => l.includes(`"udp":"${HOST}"`)), 'out saw the DNS query from the host address');
    assert.ok(!peer.lines.some((l) => l.includes('fd5a:ceb9:ed8d:1:')), `no container address reached out: ${peer.lines.join(' ')}`);
    const before = (await stats()).total.nat66_mapping_unsourced ?? 0;

    const removing = npt66.lines.length;
    await docker.docker(['rm', '-f', 'cnt01']);
    await docker.docker(['network', 'rm', 'br_ipv6_nw']);
    await subnetsNow(removing, (s) => !s.includes('fd5a:ceb9:ed8d:1::/64'), 'the subnet dropped');
    assert.doesNotMatch(await rules(), /fd5a:ceb9:ed8d:1::/);
    await waitFor('the mappings of the removed subnet to go', async () => ((await stats()).total.nat66_mapping_unsourced ?? 0) - before >= 3);
  });

  test('a reload adding and removing a source under a TCP download keeps the download (md5 equal)', async () => {
    await network('net2', 'fd5a:ceb9:ed8d:2::/64', `${PREFIX}br2`);
    await container('cnt02', 'net2');
    await waitFor('net2 in the rules', async () => (await rules()).includes('fd5a:ceb9:ed8d:2::/64'));
    const download = spawn('env', [`DOCKER_HOST=${docker.host}`, 'docker', 'exec', 'cnt02', 'sh', '-c', `nc ${OUT} ${PORT + 1} | md5sum`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = new LineProcess(download, 'download');
    await peer.waitForLine('the download started', (l) => l.includes('"bulk"'));

    let from = npt66.lines.length;
    writeFileSync(configFile, JSON.stringify(config(['docker', 'fd00:99::/64'])));
    npt66.child.kill('SIGHUP');
    await npt66.waitForLine('reloaded (source added)', (l) => jsonMsg(l) === 'reloaded', 20_000, from);
    assert.match(await rules(), /fd00:99::\/64/);
    assert.match(await rules(), /fd5a:ceb9:ed8d:2::\/64/, 'the Docker subnet stays through the reload');
    assert.equal(result.exit, null, `the download is still running after the first reload: ${result.lines.join(' ')} ${result.stderr}`);

    from = npt66.lines.length;
    writeFileSync(configFile, JSON.stringify(config('docker')));
    npt66.child.kill('SIGHUP');
    await npt66.waitForLine('reloaded (source removed)', (l) => jsonMsg(l) === 'reloaded', 20_000, from);
    assert.doesNotMatch(await rules(), /fd00:99::/);

    const exit = await result.waitExit(60_000);
    assert.equal(exit.code, 0, result.stderr);
    assert.equal(result.lines.join('').split(/\s/)[0], bulkMd5, 'the download arrived whole');
  });

  test('dockerd stopped and started while npt66 runs: a warning, no crash, the last subnets stay; a resync after', async () => {
    let from = npt66.lines.length;
    await docker.stopDaemon();
    await logged('unreachable', from);
    assert.equal(npt66.exit, null, 'npt66 still runs');
    assert.match(await rules(), /fd5a:ceb9:ed8d:2::\/64/, 'the last known subnet stays while Docker is away');

    from = npt66.lines.length;
    await docker.start();
    await logged("following Docker's IPv6 networks", from, 40_000);
    from = npt66.lines.length;
    await network('net3', 'fd5a:ceb9:ed8d:3::/64', `${PREFIX}br3`);
    const subnets = await subnetsNow(from, (s) => s.includes('fd5a:ceb9:ed8d:3::/64'), 'net3 followed after the restart');
    assert.ok(subnets.includes('fd5a:ceb9:ed8d:2::/64'), `net2 still there: ${subnets.join(', ')}`);
    await container('cnt03', 'net3');
    const tcp = await exec('cnt03', `nc ${OUT} ${PORT} </dev/null`);
    assert.equal(tcp.stdout.trim(), `from ${HOST}`, tcp.stderr);
    assert.equal(npt66.exit, null, 'npt66 still runs');
  });
});
