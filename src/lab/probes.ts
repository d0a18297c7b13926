// What the lab's checks are made of: a command in a lab namespace (or in the Docker container, see container.ts),
// a ping that passes or fails, the TCP/UDP peer (src/lab/peer.ts) as server and client, and the result every
// check reports.
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import { waitFor, type RunResult } from '../netns';
import type { LabNetwork } from './build';

const PEER = path.resolve(__dirname, 'peer.js');

export type Out = (text?: string) => void;

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

// Runs a command somewhere (a namespace, the Docker container) and never rejects on a non-zero exit.
export type Runner = (argv: string[]) => Promise<RunResult>;

export async function exec(net: LabNetwork, ns: string, argv: string[]) {
  return net.ns(ns).exec(argv, { allowFailure: true, timeoutMs: 30_000 });
}

// A lab namespace's name, or a runner of its own (the Docker container's `docker exec`).
export function runnerOf(net: LabNetwork, from: string | Runner): Runner {
  return typeof from === 'string' ? (argv) => exec(net, from, argv) : from;
}

export async function pingCheck(net: LabNetwork, out: Out, from: string | Runner, to: string, name: string): Promise<CheckResult> {
  const r = await runnerOf(net, from)(['ping', '-6', '-c', '1', '-W', '3', to]);
  const rtt = /time=(\S+ ms)/.exec(r.stdout)?.[1];
  const ok = r.code === 0;
  out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? `: answered in ${rtt}` : ''}`);
  return { name, ok, detail: ok ? 'answered' : 'no answer' };
}

// A peer server in `ns`, once it listens; it answers each client with the address and port it saw.
export async function startServer(net: LabNetwork, ns: string, proto: string, port: number): Promise<ChildProcess> {
  const child = net.spawn(ns, [process.execPath, PEER, `${proto}-server`, String(port)]);
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (text += d));
  await waitFor(`${proto} server in ${ns}`, () => text.includes('listening'));
  return child;
}

// One peer client from `ns` to [to]:port; its output names its local address and what the server saw.
export async function peerClient(net: LabNetwork, ns: string, proto: string, to: string, port: number) {
  return exec(net, ns, [process.execPath, PEER, `${proto}-client`, to, String(port)]);
}
