// `npm run lab -- --docker` (issue 10): the seed's whole path with a real Docker Engine on the Docker host. Runs
// `npt66 lab --docker` as a user would (it starts its own dockerd) and checks its outcome: every check passed;
// cnt01 is a real container made by `docker run` on a network made by `docker network create --ipv6`; its
// `ping6 dns.google`, run with `docker exec`, left cnt01 with the container's address and reached dns.google with
// the Docker host's address after masquerade ("source": "docker") and NPTv6, and the reply came back to the
// container; its TCP and UDP did the same. Then that nothing is left: namespaces, dockerd and what it started,
// the lab's directories; also after Ctrl-C in the middle of a run. Without Docker: a clear message, exit 69.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { LAB_DIR } from '../../src/lab/daemon';
import { dockerUnavailable } from '../../src/lab/docker_engine';
import { DOCKER_DIR } from '../../src/lab/docker_host';
import { ADDRESSES, NPTV6 } from '../../src/lab/topology';
import { waitFor } from '../../src/netns';
import { Translator } from '../../src/translator';
import { CLI_PATH } from './lib/npt66_daemon';
import { acquireRunLock } from './lib/run_lock';

const HOST_OUT = new Translator(NPTV6).mapAddress(ADDRESSES.host, 'outbound').output!; // what dns.google must see
const skip = dockerUnavailable();

interface LabRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// `npt66 lab ARGS`; `onOutput` sees the output so far and may act (Ctrl-C) on the child.
function lab(args: string[], env: NodeJS.ProcessEnv = process.env, onOutput?: (stdout: string, kill: (s: NodeJS.Signals) => void) => void): Promise<LabRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, 'lab', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onOutput?.(stdout, (s) => child.kill(s));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Nothing of a lab stays: its namespaces, its dockerd and what that started, its mounts and directories.
async function assertNothingLeft(containerPid: number | null): Promise<void> {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('npt66-lab-'));
  assert.deepEqual(namespaces, [], 'no lab namespace left');
  let engine = '';
  try {
    engine = execFileSync('pgrep', ['-a', '-f', DOCKER_DIR], { encoding: 'utf8' });
  } catch {
    /* none */
  }
  assert.equal(engine, '', `no process of the lab's dockerd left (dockerd, containerd, shims)`);
  if (containerPid !== null) await waitFor(`the container's process ${containerPid} to be gone`, () => !alive(containerPid), 5000);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(LAB_DIR));
  assert.deepEqual(mounts, [], 'no mount under the lab directory left');
  assert.equal(existsSync(DOCKER_DIR), false, `${DOCKER_DIR} removed`);
  assert.equal(existsSync(LAB_DIR), false, `${LAB_DIR} removed`);
}

const containerPidIn = (stdout: string) => {
  const m = /cnt01: pid (\d+),/.exec(stdout);
  return m ? Number(m[1]) : null;
};

describe('npm run lab -- --docker', () => {
  let release: (() => void) | undefined;
  before(async () => {
    release = await acquireRunLock('lab'); // the lab's namespace names and directory are fixed
  });
  after(() => release?.());

  test('with a real dockerd: the container pings dns.google, which sees the translated address; nothing left', { skip: skip ? `Docker cannot run here: ${skip}` : false }, async () => {
    const r = await lab(['--docker']);
    const out = r.stdout;
    assert.equal(r.code, 0, `the lab's exit status (every check passed)\n${out.slice(-4000)}\n${r.stderr}`);
    assert.match(out, /docker network create --ipv6 --subnet=fd5a:ceb9:ed8d:1::\/64 .*br_ipv6_nw/);
    assert.match(out, /docker run -d --network br_ipv6_nw --name cnt01 /);
    assert.match(out, /"msg":"ready".*"masquerade":\[\{"source":"docker","interface":"ens192"/, `the Docker host's npt66 runs "source": "docker"`);
    assert.match(out, /"source": "docker" \(the Engine's IPv6 networks: fd5a:ceb9:ed8d:1::\/64\)/, 'and took the network from Docker');
    // The path trace of `docker exec cnt01 ping6 dns.google`: the request leaves the container with its own
    // address, reaches dns.google with the Docker host's address through NPTv6, and the reply gets back.
    assert.match(out, /`docker exec cnt01 ping6 dns\.google`, hop by hop/);
    assert.match(out, new RegExp(`cnt01 +\\(cnt01 eth0\\) +${escape(ADDRESSES.cnt01)} > ${escape(ADDRESSES.dns)} +echo request`));
    assert.match(out, new RegExp(`dns\\.google +\\(dns eth0\\) +${escape(HOST_OUT)} > ${escape(ADDRESSES.dns)} +echo request`), 'dns.google saw the request from the translated address');
    assert.match(out, new RegExp(`cnt01 +\\(cnt01 eth0\\) +${escape(ADDRESSES.dns)} > ${escape(ADDRESSES.cnt01)} +echo reply`), 'the reply reached the container');
    assert.match(out, new RegExp(`ok   ping6 dns\\.google from cnt01: dns\\.google sees ${escape(HOST_OUT)}`));
    for (const proto of ['TCP', 'UDP']) {
      assert.match(out, new RegExp(`ok   ${proto} cnt01 -> dns\\.google: cnt01 \\[${escape(ADDRESSES.cnt01)}\\] -> server saw \\[${escape(HOST_OUT)}\\]:\\d+`));
    }
    assert.match(out, /Summary: (\d+) of \1 checks passed\./);
    assert.match(out, /Docker: cnt01 and br_ipv6_nw removed, dockerd stopped/);
    await assertNothingLeft(containerPidIn(out));
  });

  test('Ctrl-C while the container runs: dockerd, the container and the namespaces go', { skip: skip ? `Docker cannot run here: ${skip}` : false }, async () => {
    let sent = false;
    const r = await lab(['--docker'], process.env, (stdout, kill) => {
      if (!sent && stdout.includes('its namespace named npt66-lab-cnt01')) {
        sent = true;
        kill('SIGINT');
      }
    });
    assert.ok(sent, `the lab got as far as the container:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
    assert.equal(r.code, 130, 'exit status after SIGINT');
    await assertNothingLeft(containerPidIn(r.stdout));
  });

  test('without Docker installed: a clear message saying how to install it, exit 69, nothing built', async () => {
    // A PATH with a shell and nothing else: as on a machine without Docker.
    const bin = mkdtempSync(join(tmpdir(), 'npt66-no-docker-'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const r = await lab(['--docker'], { ...process.env, PATH: bin }).finally(() => rmSync(bin, { recursive: true, force: true }));
    assert.equal(r.code, 69);
    assert.match(r.stderr, /npt66 lab --docker: Docker cannot run here: dockerd is not installed: install Docker with `apt-get install docker\.io`/);
    assert.equal(r.stdout, '');
    await assertNothingLeft(null);
  });
});
