// Runs npt66's queue engine (native.Engine, src/native.ts) in the gateway namespace for the benchmark: binds
// queues 0..N-1, translates with the given NPTv6 mappings, prints "ready" on stderr once bound and the engine's
// total counters as one JSON line on stdout at SIGTERM/SIGINT. The runner installs the queue rules.
//
//   node npt66_engine.js --queues 1 --map fd01:203:405::/48=2001:db8:1::/48
import { parseArgs } from 'node:util';

import { parsePrefix } from '../../src/prefix';

// The slice of src/native.ts this host uses, declared here so the benchmark compiles whatever the addon has.
interface EngineMapping {
  inside: Buffer;
  insideLength: number;
  outside: Buffer;
  outsideLength: number;
}
interface Engine {
  start(): void;
  stats(): { total: Record<string, number> };
  stop(drainMs?: number): Promise<void>;
}
interface EngineAddon {
  Engine?: new (options: {
    queueFirst: number;
    queueCount: number;
    queueMaxLen: number;
    socketBufferBytes: number;
    failOpen: boolean;
    icmpRateLimit: number;
    mappings: EngineMapping[];
    onEvents: (events: { type: string; message: string }[]) => void;
  }) => Engine;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { queues: { type: 'string', default: '1' }, map: { type: 'string', multiple: true, default: [] } } });
  const mappings = values.map!.map((spec) => {
    const [inside, outside] = spec.split('=').map((p) => parsePrefix(p, '--map'));
    return { inside: inside.bytes, insideLength: inside.length, outside: outside.bytes, outsideLength: outside.length };
  });
  // Loaded here, not imported at the top, so a missing addon is reported as such.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { native } = require('../../src/native') as { native: EngineAddon };
  if (typeof native.Engine !== 'function') throw new Error('this build of the addon has no Engine');
  const engine = new native.Engine({
    queueFirst: 0,
    queueCount: Number(values.queues),
    queueMaxLen: 4096,
    socketBufferBytes: 8 << 20,
    failOpen: false,
    icmpRateLimit: 100,
    mappings,
    onEvents: (events) => {
      for (const e of events) if (e.type !== 'state') process.stderr.write(`engine ${e.type}: ${e.message}\n`);
    },
  });
  engine.start();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const total = engine.stats().total;
    await engine.stop();
    process.stdout.write(`${JSON.stringify(total)}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stderr.write('ready\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`npt66_engine: ${(e as Error).message}\n`);
  process.exit(1);
});
