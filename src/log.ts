// Structured logging: one JSON object per line on stdout, for journald and log shippers. Rare events only,
// never one line per packet. Repeated warnings can be limited to one per interval (RepeatLimiter), with the count
// of those held back. Kept over pino: bench/results/logging.md measures both on npt66's lines.
import { RepeatLimiter } from './repeat-limiter';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface LogRecord {
  time: string; // ISO 8601, UTC
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export type LogSink = (line: string) => void;

// Errors become {name, code, message} (a stack only for unexpected errors, which are bugs).
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const isOurs = typeof code === 'string' && code.startsWith('ERR_NPT66_');
    return { name: value.name, ...(code !== undefined ? { code } : {}), message: value.message, ...(isOurs ? {} : { stack: value.stack }) };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

// Shared by a logger and its children: one limit for the whole process.
interface WarningLimit {
  limiter: RepeatLimiter | null;
  timer: NodeJS.Timeout | null;
}

export class Logger {
  constructor(
    private readonly sink: LogSink = (line) => process.stdout.write(line),
    private readonly base: Record<string, unknown> = {},
    private readonly limit: WarningLimit = { limiter: null, timer: null },
  ) {}

  // A logger that adds `fields` to every record.
  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.sink, { ...this.base, ...fields }, this.limit);
  }

  // From now on a warning with the same message is logged at most once per `intervalMs` (0: every one). The
  // next one after the interval carries "suppressed": N; if none comes, a line with the message and
  // "suppressed": N is logged once the interval is over.
  limitWarnings(intervalMs: number, now: () => number = Date.now): void {
    this.flushWarnings();
    if (intervalMs <= 0) return;
    const limiter = new RepeatLimiter(intervalMs, now);
    this.limit.limiter = limiter;
    this.limit.timer = setInterval(() => this.reportSuppressed(limiter.sweep(), intervalMs), intervalMs);
    this.limit.timer.unref();
  }

  // Logs the counts still held back and turns the limit off (at shutdown, or before a new limit).
  flushWarnings(): void {
    const { limiter, timer } = this.limit;
    if (timer) clearInterval(timer);
    this.limit.limiter = null;
    this.limit.timer = null;
    if (limiter) this.reportSuppressed(limiter.drain(), limiter.intervalMs);
  }

  private reportSuppressed(due: { key: string; suppressed: number }[], intervalMs: number): void {
    for (const d of due) this.log('warning', d.key, { suppressed: d.suppressed, interval: intervalMs / 1000 });
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    const record: LogRecord = { time: new Date().toISOString(), level, msg, ...this.base };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) record[k] = plain(v);
    this.sink(`${JSON.stringify(record)}\n`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warning(msg: string, fields?: Record<string, unknown>): void {
    const admitted = this.limit.limiter?.admit(msg);
    if (admitted && !admitted.pass) return;
    this.log('warning', msg, admitted?.suppressed ? { ...fields, suppressed: admitted.suppressed } : fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}
