// Traffic in the masquerade lab beyond lib/traffic.ts: flow_tool.js's endpoints, and TCP transfers that give up
// after 60 s so a broken translator fails fast.
import { resolve } from 'node:path';
import type { LineProcess } from '../lib/line_process';
import { startNodeTool, tcpTransfer as transfer, type TcpTransferResult } from '../lib/traffic';
import type { MasqLab, MasqNs } from './masq_lab';

export const FLOW_TOOL_PATH = resolve(__dirname, 'flow_tool.js');

// masq/flow_tool.js (udp-announce, udp-send-from, tcp-echo, tcp-hold, tcp-once).
export function startFlow(lab: MasqLab, ns: MasqNs, args: (string | number)[]): LineProcess {
  return startNodeTool(lab, ns, FLOW_TOOL_PATH, args);
}

// BYTES of random data from `from` to a sink at `toAddr`:`port` in `to`, hashed at both ends.
export function tcpTransfer(lab: MasqLab, from: MasqNs, to: MasqNs, toAddr: string, bytes: number, port: number, timeoutMs = 60_000): Promise<TcpTransferResult> {
  return transfer(lab, from, to, toAddr, bytes, port, timeoutMs);
}
