// A Gateway (src/gateway.ts) in a child process inside a namespace (NFQUEUE is per network namespace), driven by
// JSON lines on stdin, {"cmd", "config"}, each answered by one line {"ok", "result" | "error": {code, message}}:
//   start CONFIG   Gateway.start; answers the rules backend ("ip6tables" or "nft")
//   config         the running configuration (masquerade addresses resolved)
//   stats, mappings
//   events         the warning and mapping events since start, as {type, e}
//   reload CONFIG  answers what changed, or the error that kept the old configuration
//   stop           stops the gateway and exits 0
import * as path from 'node:path';

import { waitFor, type Topology } from '../../../src/netns';

const DRIVER = `
const { Gateway } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/gateway.js'))});
const readline = require('node:readline');
let gw = null;
const events = [];
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const { cmd, config } = JSON.parse(line);
  try {
    if (cmd === 'start') {
      gw = await Gateway.start(config, { on: { warning: (e) => events.push({ type: 'warning', e }), error: () => {}, mapping: (e) => events.push({ type: 'mapping', e }) } });
      reply({ ok: true, result: gw.rulesBackend });
    }
    else if (cmd === 'config') reply({ ok: true, result: gw.config });
    else if (cmd === 'stats') reply({ ok: true, result: gw.stats() });
    else if (cmd === 'mappings') reply({ ok: true, result: gw.mappings() });
    else if (cmd === 'events') reply({ ok: true, result: events });
    else if (cmd === 'reload') reply({ ok: true, result: await gw.reload(config) });
    else if (cmd === 'stop') { await gw.stop(); reply({ ok: true }); process.exit(0); }
  } catch (e) { reply({ ok: false, error: { code: e.code, message: e.message } }); }
});
`;

export interface GatewayReply {
  ok: boolean;
  result?: any; // what each command answers (see above)
  error?: { code: string; message: string };
}

export class GatewayChild {
  private readonly replies: string[] = [];

  private constructor(readonly child: ReturnType<Topology['spawn']>) {
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      this.replies.push(...parts);
    });
  }

  static spawn(topo: Topology, ns: string): GatewayChild {
    return new GatewayChild(topo.spawn(ns, [process.execPath, '-e', DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  async send(cmd: string, cfg?: unknown): Promise<GatewayReply> {
    const from = this.replies.length;
    this.child.stdin!.write(`${JSON.stringify({ cmd, config: cfg })}\n`);
    await waitFor(`the driver's answer to ${cmd}`, () => {
      if (this.child.exitCode !== null && this.replies.length === from) throw new Error(`driver exited ${this.child.exitCode}`);
      return this.replies.length > from;
    }, 20_000);
    return JSON.parse(this.replies[from]!) as GatewayReply;
  }
}
