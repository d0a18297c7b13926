// The mapping log (config "logs": {"mappings": PATH}): masquerade mapping creation and deletion, one JSON line
// each, appended to a file of its own so abuse reports ("who had outside port P at time T?") can be answered
// from it. RFC 6888 REQ-12: destinations are not logged, only time, protocol, inside and outside endpoints.
// Lines are gathered and written once per event-loop turn (the engine hands events over in batches).
import { closeSync, openSync, writeSync } from 'node:fs';

import type { MappingEventType, MappingRecord } from './engine-records';
import { Npt66Error } from './errors';
import { endpoint } from './mapping-format';

const iso = (ms: number) => new Date(ms).toISOString();

// The line for a NEW or DESTROY event; null for the others (UPDATE, REMOTE, LIMIT are not creation or deletion).
export function mappingLogLine(event: MappingEventType, m: MappingRecord, time: Date): string | null {
  if (event !== 'NEW' && event !== 'DESTROY') return null;
  const record = {
    time: time.toISOString(),
    event,
    protocol: m.protocol,
    inside: endpoint(m.inside, m.insidePort),
    outside: endpoint(m.outside, m.outsidePort),
    created: iso(m.created),
    ...(event === 'DESTROY' && { lastUsed: iso(m.lastUsed), packets: { out: m.packetsOut, in: m.packetsIn }, bytes: { out: m.bytesOut, in: m.bytesIn } }),
  };
  return `${JSON.stringify(record)}\n`;
}

export class MappingLog {
  private fd: number;
  private pending: string[] = [];
  private scheduled = false;

  constructor(
    readonly path: string,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {
    this.fd = MappingLog.open(path);
  }

  private static open(path: string): number {
    try {
      return openSync(path, 'a', 0o640);
    } catch (e) {
      throw new Npt66Error('ERR_NPT66_CONFIG', `logs.mappings: cannot open ${path} for appending: ${(e as Error).message}`, { field: 'logs.mappings', cause: e });
    }
  }

  record(event: MappingEventType, m: MappingRecord, time = new Date()): void {
    const line = mappingLogLine(event, m, time);
    if (line === null) return;
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.fd < 0) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      writeSync(this.fd, text);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  // After logrotate moved the file away (SIGHUP): new lines go to a new file at the same path.
  reopen(): void {
    this.flush();
    const fd = MappingLog.open(this.path);
    closeSync(this.fd);
    this.fd = fd;
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
