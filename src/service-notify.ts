// Tells the service manager how the daemon is doing (systemd's Type=notify, sd_notify(3)): READY=1 once the
// queues are bound and the rules installed, RELOADING=1 ... READY=1 around a SIGHUP reload, STOPPING=1, and a
// one-line STATUS= for `systemctl status`. Without NOTIFY_SOCKET (not started by systemd) nothing is sent.
// Node has no unix datagram sockets: the addon sends the datagram (native/nfq/sd_notify.cc).
import { native } from './native';

export type NotifyFields = Record<string, string | number>;

// "READY=1\nSTATUS=...\n" from {READY: 1, STATUS: '...'}; a value holds no newline (the protocol's separator).
// Every line ends with one (systemd ignores the empty last line), so datagrams read back to back stay lines.
export function notifyMessage(fields: NotifyFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/\s*\n\s*/g, ' ')}\n`)
    .join('');
}

// CLOCK_MONOTONIC in microseconds, which systemd wants with RELOADING=1 (libuv's hrtime is CLOCK_MONOTONIC).
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

export class ServiceNotifier {
  // `send` is the addon's sdNotify unless a test gives another; `onError` hears why a notification was lost.
  constructor(
    private readonly onError: (message: string) => void,
    private readonly send: ((state: string) => { sent: boolean; error: string }) | null = native.sdNotify ?? null,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get active(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  notify(fields: NotifyFields): boolean {
    if (!this.active) return false;
    if (!this.send) {
      this.onError('NOTIFY_SOCKET is set but this build of the addon cannot notify (rebuild it): systemd will time out waiting for READY=1');
      return false;
    }
    const r = this.send(notifyMessage(fields));
    if (r.error) this.onError(`cannot notify the service manager: ${r.error}`);
    return r.sent;
  }

  ready(status: string): boolean {
    return this.notify({ READY: 1, STATUS: status });
  }

  reloading(): boolean {
    return this.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec().toString(), STATUS: 'reloading the configuration' });
  }

  stopping(status: string): boolean {
    return this.notify({ STOPPING: 1, STATUS: status });
  }

  status(status: string): boolean {
    return this.notify({ STATUS: status });
  }
}
