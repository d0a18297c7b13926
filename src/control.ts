// The running daemon's control socket: a unix socket, root-only (0600), one JSON request line in, one JSON reply
// line out. `npt66 stats` reads the counters through it (and later `npt66 mappings` the live mappings).
//   request:  {"command":"stats"}
//   reply:    {"ok":true,"result":...}  or  {"ok":false,"error":{"code":"ERR_NPT66_...","message":"..."}}
import { chmodSync, lstatSync, mkdirSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { isNpt66ErrorCode, Npt66Error } from './errors';

export type ControlHandler = (args: Record<string, unknown>) => unknown;

const MAX_REQUEST_BYTES = 64 * 1024;

function controlError(message: string, cause?: unknown): Npt66Error {
  return new Npt66Error('ERR_NPT66_CONTROL', message, { cause });
}

// The socket's directory decides who may replace the socket: anyone who can write to it could unlink the daemon's
// socket and put their own (or a symlink) in its place, and root's `npt66 stats` would then talk to them. So it
// must belong to root (or to the user the daemon runs as, e.g. a capability-bounded service user) and be
// writable by nobody else: no group or world write bit, sticky or not (/tmp is refused).
export function checkSocketDirectory(dir: string, euid = process.geteuid?.() ?? 0): void {
  let real: string;
  let st: ReturnType<typeof statSync>;
  try {
    real = realpathSync(dir);
    st = statSync(real);
  } catch (e) {
    throw controlError(`cannot inspect the control socket's directory ${dir}: ${(e as Error).message}`, e);
  }
  const shown = real === dir ? dir : `${dir} (${real})`;
  if (!st.isDirectory()) throw controlError(`${shown} is not a directory; set "control.socket" to a path in a root-owned directory such as /run/npt66`);
  if (st.uid !== 0 && st.uid !== euid) {
    throw controlError(`the control socket's directory ${shown} belongs to uid ${st.uid}, not root${euid !== 0 ? ` or uid ${euid}` : ''}: its owner could replace the socket; use a root-owned directory such as /run/npt66`);
  }
  const writers = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean);
  if (writers.length) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw controlError(`the control socket's directory ${shown} is writable by ${writers.join(' and ')} (mode ${mode}): they could replace the socket; \`chmod go-w ${real}\` or use a directory such as /run/npt66`);
  }
}

// Resolves true if something accepts connections at `socketPath`.
function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  // Creates the directory if missing and checks it (checkSocketDirectory), replaces a stale socket file (nobody
  // listening), refuses to take over a live one and refuses anything else at the path (a symlink, a file: never
  // removed, it may be someone's), and creates the socket 0600 (the umask is narrowed around bind, so it is never
  // briefly world-accessible).
  static async listen(socketPath: string, handlers: Record<string, ControlHandler>): Promise<ControlServer> {
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
    checkSocketDirectory(path.dirname(socketPath));
    let existing: ReturnType<typeof lstatSync> | undefined;
    try {
      existing = lstatSync(socketPath);
    } catch {
      existing = undefined;
    }
    if (existing) {
      if (existing.isSymbolicLink()) {
        throw controlError(`${socketPath} is a symbolic link, not a socket; npt66 neither follows nor replaces it: remove it or set "control.socket" to another path`);
      }
      if (!existing.isSocket()) {
        throw controlError(`${socketPath} exists and is not a socket; remove it or set "control.socket" to another path`);
      }
      if (await isListening(socketPath)) {
        throw controlError(`another npt66 is already running with control socket ${socketPath}; stop it first or set "control.socket" to another path`);
      }
      unlinkSync(socketPath); // stale: left by a run that did not exit cleanly
    }
    const server = net.createServer((conn) => serve(conn, handlers));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw controlError(`cannot listen on ${socketPath}: ${(e as Error).message}`, e);
    } finally {
      process.umask(oldMask);
    }
    chmodSync(socketPath, 0o600);
    return new ControlServer(server, socketPath);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.unlink();
  }

  // For process 'exit' handlers.
  closeSync(): void {
    this.server.close();
    this.unlink();
  }

  private unlink(): void {
    try {
      unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }
}

function serve(conn: net.Socket, handlers: Record<string, ControlHandler>): void {
  let buffer = '';
  conn.setEncoding('utf8');
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_REQUEST_BYTES) {
      conn.destroy();
      return;
    }
    const end = buffer.indexOf('\n');
    if (end < 0) return;
    conn.removeAllListeners('data');
    void answer(buffer.slice(0, end), handlers).then((reply) => conn.end(`${JSON.stringify(reply)}\n`));
  });
}

async function answer(line: string, handlers: Record<string, ControlHandler>): Promise<unknown> {
  try {
    const request = JSON.parse(line) as { command?: unknown; args?: unknown };
    const name = typeof request.command === 'string' ? request.command : '';
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (!handler) {
      throw controlError(`unknown command ${JSON.stringify(request.command)}; this daemon answers ${Object.keys(handlers).join(', ')}`);
    }
    const args = request.args !== null && typeof request.args === 'object' ? (request.args as Record<string, unknown>) : {};
    return { ok: true, result: await handler(args) };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { ok: false, error: { code: typeof code === 'string' ? code : 'ERR_NPT66_CONTROL', message: (e as Error).message } };
  }
}

// Sends one command to the daemon and returns its result; the daemon's error arrives as an Npt66Error.
export function controlRequest(socketPath: string, command: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let reply = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(controlError(`no answer from the npt66 daemon at ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ command, args })}\n`));
    conn.on('data', (chunk: string) => (reply += chunk));
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(controlError(`no npt66 daemon is listening at ${socketPath}; is \`npt66 run\` running? (the default path follows the network namespace: \`ip netns exec NAME npt66 ...\` reaches the daemon in NAME; a "control.socket" setting names another path: pass it with --socket or -c)`, e));
      } else if (e.code === 'EACCES') {
        reject(controlError(`permission denied on ${socketPath}: the control socket is root-only (0600); run as root`, e));
      } else {
        reject(controlError(`cannot reach the npt66 daemon at ${socketPath}: ${e.message}`, e));
      }
    });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(reply) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
        if (parsed.ok) resolve(parsed.result);
        else reject(new Npt66Error(isNpt66ErrorCode(parsed.error?.code) ? parsed.error.code : 'ERR_NPT66_CONTROL', parsed.error?.message ?? 'the daemon refused the request'));
      } catch (e) {
        reject(controlError(`the npt66 daemon at ${socketPath} sent an unreadable answer`, e));
      }
    });
  });
}
