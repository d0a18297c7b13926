// Runs npt66's queue engine (native.Engine, src/native.ts) in the gateway namespace for the benchmark: binds
// queues 0..N-1, translates with the given NPTv6 mappings and/or one NAT66 masquerade table, prints "ready" on
// stderr once bound and the engine's total counters as one JSON line on stdout at SIGTERM/SIGINT. The runner
// installs the queue rules.
//
//   node npt66_engine.js --queues 1 --map fd01:203:405::/48=2001:db8:1::/48
//   node npt66_engine.js --queues 1 --masquerade fd01:203:405::/48=2001:db8:ff::1 --ports 20000:29999
//   tuning: --queue-max-len N, --cpus 1,0 (queue thread i on the i-th, round-robin), --nice N, --fifo PRIO,
//   --socket-buffer BYTES (socketBufferBytes, default 8 MiB), --gso on|off (the engine's gso option,
//   NFQA_CFG_F_GSO; left out, the engine's default; an engine without the option ignores it)
import { parseArgs } from 'node:util';

import { parseAddress, parsePrefix } from '../../src/prefix';

// The slice of src/native.ts this host uses, declared here so the benchmark compiles whatever the addon has.
interface EngineMapping {
  inside: Buffer;
  insideLength: number;
  outside: Buffer;
  outsideLength: number;
}
interface EngineMasquerade {
  sources: { prefix: Buffer; length: number }[];
  addresses: Buffer[];
  portMin: number;
  portMax: number;
  filtering: 'address-dependent' | 'endpoint-independent';
  timeouts: { udpMs: number; tcpEstablishedMs: number; tcpTransitoryMs: number; icmpMs: number };
  maxMappings: number;
  maxPerHost64: number;
  inboundRefresh: boolean;
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
    queueCpus?: number[];
    queueNice?: number;
    queueFifoPriority?: number;
    gso?: boolean;
    mappings: EngineMapping[];
    masquerade?: EngineMasquerade[];
    onEvents: (events: { type: string; message: string }[]) => void;
  }) => Engine;
}

function masqueradeOption(spec: string, ports: string): EngineMasquerade {
  const [source, address] = spec.split('=');
  const prefix = parsePrefix(source, '--masquerade');
  const [portMin, portMax] = ports.split(':').map(Number);
  return {
    sources: [{ prefix: prefix.bytes, length: prefix.length }],
    addresses: [parseAddress(address, '--masquerade')],
    portMin,
    portMax,
    filtering: 'address-dependent',
    // RFC 4787 REQ-5 / RFC 5382 / RFC 5508 values, as the gateway's defaults.
    timeouts: { udpMs: 300_000, tcpEstablishedMs: 7_440_000, tcpTransitoryMs: 240_000, icmpMs: 60_000 },
    maxMappings: 65_536,
    maxPerHost64: 65_536,
    inboundRefresh: true,
  };
}

function gsoOption(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`--gso takes on or off, not ${value}`);
  return value === 'on';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      queues: { type: 'string', default: '1' },
      map: { type: 'string', multiple: true, default: [] },
      masquerade: { type: 'string' },
      ports: { type: 'string', default: '20000:29999' },
      'queue-max-len': { type: 'string' },
      cpus: { type: 'string' },
      nice: { type: 'string' },
      fifo: { type: 'string' },
      gso: { type: 'string' },
      'socket-buffer': { type: 'string' },
    },
  });
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
    queueMaxLen: values['queue-max-len'] ? Number(values['queue-max-len']) : 4096,
    socketBufferBytes: values['socket-buffer'] ? Number(values['socket-buffer']) : 8 << 20,
    failOpen: false,
    icmpRateLimit: 100,
    ...(values.cpus ? { queueCpus: values.cpus.split(',').map(Number) } : {}),
    ...(values.nice ? { queueNice: Number(values.nice) } : {}),
    ...(values.fifo ? { queueFifoPriority: Number(values.fifo) } : {}),
    ...(values.gso ? { gso: gsoOption(values.gso) } : {}),
    mappings,
    ...(values.masquerade ? { masquerade: [masqueradeOption(values.masquerade, values.ports!)] } : {}),
    onEvents: (events) => {
      for (const e of events) if (e.type !== 'state' && e.type !== 'mapping') process.stderr.write(`engine ${e.type}: ${e.message}\n`);
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
