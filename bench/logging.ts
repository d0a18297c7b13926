// npt66's logger (src/log.ts) against pino on npt66's own lines: N "mapping" records (the busiest line npt66
// writes: one per masquerade mapping event) and N short warnings, to a file. pino is not a dependency: point
// --pino at a directory where it is installed (e.g. `npm install --prefix /tmp/p pino`), or only src/log.ts runs.
//   node dist/bench/logging.js [--lines N] [--pino DIR] [--out FILE]
// Both write the same fields (ISO time, level as a word); pino once with a synchronous destination (like
// src/log.ts) and once with its default asynchronous one (sonic-boom, 4 KB buffer), flushed before the clock stops.
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Logger } from '../src/log';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' }, pino: { type: 'string' }, out: { type: 'string' } } });
const N = Number(values.lines);
const out = values.out ?? join(tmpdir(), `npt66-logging-bench-${process.pid}.log`);

const mapping = {
  event: 'NEW',
  masquerade: 0,
  protocol: 'udp',
  state: 'udp',
  inside: '[fd5a:ceb9:ed8d:1::1234]:40002',
  outside: '[2001:db8:ff66::1]:20417',
  remote: '[2001:db8:99::7]:53',
  remoteCount: 1,
  created: '2026-12-04T19:00:00.000Z',
  lastUsed: '2026-12-04T19:00:00.000Z',
  expires: '2026-12-04T19:05:00.000Z',
  packets: { out: 1, in: 0 },
  bytes: { out: 80, in: 0 },
};

// The part of pino's API used here (pino is not installed with npt66, so its types are not either).
interface PinoDestination {
  end(): void;
  once(event: 'close' | 'ready', fn: () => void): void;
}
interface PinoLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}
type PinoModule = ((options: object, dest: PinoDestination) => PinoLogger) & {
  destination(o: { dest: string; sync: boolean; append: boolean }): PinoDestination;
  stdTimeFunctions: { isoTime: () => string };
};

interface Result {
  name: string;
  linesPerSecond: number;
  bytesPerLine: number;
  heapMB: number;
}

// `open` creates the logger on a fresh file and returns how to write line pair i and how to finish.
async function measure(name: string, open: () => Promise<{ write: (i: number) => void; finish: () => Promise<void> }>): Promise<Result> {
  rmSync(out, { force: true });
  const { write, finish } = await open();
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) write(i);
  await finish();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const heap = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const size = statSync(out).size;
  return { name, linesPerSecond: Math.round((2 * N) / seconds), bytesPerLine: Math.round(size / (2 * N)), heapMB: Math.round(heap) };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  results.push(
    await measure('src/log.ts (writeSync per line)', async () => {
      const fd = openSync(out, 'w');
      const log = new Logger((line) => writeSync(fd, line));
      return {
        write: (i) => {
          log.info('mapping', mapping);
          log.warning('interface eth9 does not exist', { queue: i & 3 });
        },
        finish: async () => closeSync(fd),
      };
    }),
  );
  if (values.pino) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require(require.resolve('pino', { paths: [values.pino] })) as PinoModule;
    for (const sync of [true, false]) {
      results.push(
        await measure(`pino ${sync ? 'sync' : 'async'} destination`, async () => {
          const dest = pino.destination({ dest: out, sync, append: false });
          if (!sync) await new Promise<void>((resolve) => dest.once('ready', () => resolve()));
          const log = pino(
            { base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg', formatters: { level: (label: string) => ({ level: label }) } },
            dest,
          );
          return {
            write: (i) => {
              log.info(mapping, 'mapping');
              log.warn({ queue: i & 3 }, 'interface eth9 does not exist');
            },
            finish: () =>
              new Promise((resolve) => {
                dest.end(); // writes what is buffered, then closes
                dest.once('close', () => resolve());
              }),
          };
        }),
      );
    }
  }
  rmSync(out, { force: true });
  process.stdout.write(`${JSON.stringify({ lines: 2 * N, node: process.versions.node, results }, null, 2)}\n`);
}

void main();
