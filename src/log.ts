// Structured logging: one JSON object per line on stdout, for journald and log shippers. Rare events only,
// never one line per packet.
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

export class Logger {
  constructor(
    private readonly sink: LogSink = (line) => process.stdout.write(line),
    private readonly base: Record<string, unknown> = {},
  ) {}

  // A logger that adds `fields` to every record.
  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.sink, { ...this.base, ...fields });
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
    this.log('warning', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}
