// Runs a native queue Engine inside a network namespace for the namespace tests (`ip netns exec NS node
// engine_driver.js`), driven by JSON lines on stdin: {"id", "cmd", "args"}. Answers {"id", "ok", "result" |
// "error"} and forwards engine events as {"events": [...]}, one JSON line each, on stdout. Masquerade entries are
// given in JSON form (prefix and address strings) and converted to the native Buffers here.
import * as readline from 'node:readline';

import { validateNptv6, type Nptv6Mapping } from '../../../src/config';
import { native, type NativeEngine, type NativeEngineOptions, type NativeMapping, type NativeMasquerade } from '../../../src/native';
import { parseAddress, parsePrefix } from '../../../src/prefix';

// NativeMasquerade with text instead of Buffers: sources like "fd00::/64", addresses like "2001:db8::1".
export interface DriverMasquerade extends Omit<NativeMasquerade, 'sources' | 'addresses'> {
  sources: string[];
  addresses: string[];
}

export interface DriverRequest {
  id: number;
  cmd: 'create' | 'start' | 'stats' | 'mappings' | 'setMappings' | 'setRawMappings' | 'stop' | 'exit';
  args?: {
    options?: Omit<NativeEngineOptions, 'mappings' | 'masquerade' | 'onEvents'> & { mappings: Nptv6Mapping[]; masquerade?: DriverMasquerade[] };
    mappings?: Nptv6Mapping[];
    raw?: { inside: string; insideLength: number; outside: string; outsideLength: number }[];  // hex, unvalidated
    drainMs?: number;
  };
}

let engine: NativeEngine | undefined;

function send(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function raw(list: NonNullable<DriverRequest['args']>['raw']): NativeMapping[] {
  return (list ?? []).map((m) => ({
    inside: Buffer.from(m.inside, 'hex'),
    insideLength: m.insideLength,
    outside: Buffer.from(m.outside, 'hex'),
    outsideLength: m.outsideLength,
  }));
}

function masquerade(list: DriverMasquerade[] | undefined): NativeMasquerade[] | undefined {
  return list?.map((m, i) => ({
    ...m,
    sources: m.sources.map((s, j) => {
      const p = parsePrefix(s, `masquerade[${i}].sources[${j}]`);
      return { prefix: p.bytes, length: p.length };
    }),
    addresses: m.addresses.map((a, j) => parseAddress(a, `masquerade[${i}].addresses[${j}]`)),
  }));
}

function need(): NativeEngine {
  if (!engine) throw new Error('no engine: send "create" first');
  return engine;
}

async function handle(req: DriverRequest): Promise<unknown> {
  const args = req.args ?? {};
  switch (req.cmd) {
    case 'create': {
      const o = args.options!;
      engine = new native.Engine({
        ...o,
        mappings: validateNptv6(o.mappings),
        masquerade: masquerade(o.masquerade),
        onEvents: (events) => send({ events }),
      });
      return null;
    }
    case 'start':
      need().start();
      return null;
    case 'stats':
      return need().stats();
    case 'mappings':
      return need().mappings();
    case 'setMappings':
      need().setMappings(validateNptv6(args.mappings ?? []));
      return null;
    case 'setRawMappings':
      need().setMappings(raw(args.raw));
      return null;
    case 'stop':
      await need().stop(args.drainMs);
      return null;
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

// One request at a time, in order.
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as DriverRequest;
  chain = chain.then(async () => {
    try {
      send({ id: req.id, ok: true, result: await handle(req) });
    } catch (e) {
      const err = e as Error & { code?: string; errno?: number; syscall?: string };
      send({ id: req.id, ok: false, error: { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall } });
    }
  });
});
// The test's end of stdin closing means the test is gone: stop cleanly (unbinds) and leave.
process.stdin.on('end', () => {
  void chain.then(async () => {
    if (engine) await engine.stop(0);
    process.exit(0);
  });
});
send({ ready: true });
