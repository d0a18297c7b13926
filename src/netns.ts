// Network namespaces for the lab, the tests and the benchmarks: build a topology, run things in it, and tear it
// all down, also when the process fails. Every command is an argument array (no shell strings).
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
  ) {
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr.trim()}`);
  }
}

// Runs argv[0] with argv[1..]; rejects with CommandError on a non-zero exit unless `allowFailure`.
export function run(argv: string[], opts: { allowFailure?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
        const result = { stdout, stderr, code };
        if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

const liveTopologies = new Set<Topology>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of liveTopologies) t.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const t of liveTopologies) t.destroySync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class Namespace {
  constructor(readonly name: string) {}

  exec(argv: string[], opts?: Parameters<typeof run>[1]): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  spawn(argv: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  }

  sysctl(key: string, value: string | number): Promise<RunResult> {
    return this.exec(['sysctl', '-qw', `${key}=${value}`]);
  }

  ip6tables(args: string[]): Promise<RunResult> {
    return this.exec(['ip6tables', '-w', ...args]);
  }
}

// A set of namespaces (all named with one prefix) and the processes started in them.
export class Topology {
  readonly namespaces = new Map<string, Namespace>();
  private readonly children = new Set<ChildProcess>();

  // `prefix` keeps concurrent users apart; names are `${prefix}${name}`.
  constructor(readonly prefix: string) {
    installExitHook();
    liveTopologies.add(this);
  }

  // Removes namespaces left by an earlier run that died before cleaning up.
  static removeStale(prefix: string): void {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const name = line.split(' ')[0];
      if (name && name.startsWith(prefix)) killAndDelete(name);
    }
  }

  ns(name: string): Namespace {
    const n = this.namespaces.get(name);
    if (!n) throw new Error(`no namespace ${name} in topology ${this.prefix}`);
    return n;
  }

  // A namespace with loopback up, DAD off (addresses usable at once), and forwarding if it routes.
  async addNamespace(name: string, opts: { forwarding?: boolean } = {}): Promise<Namespace> {
    const full = `${this.prefix}${name}`;
    await run(['ip', 'netns', 'add', full]);
    const ns = new Namespace(full);
    this.namespaces.set(name, ns);
    await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    await ns.sysctl('net.ipv6.conf.all.accept_dad', 0);
    await ns.sysctl('net.ipv6.conf.default.accept_dad', 0);
    await ns.sysctl('net.ipv6.conf.all.forwarding', opts.forwarding ? 1 : 0);
    return ns;
  }

  // A veth pair between two namespaces, both ends up. Interface names must fit IFNAMSIZ (15).
  async link(a: string, ifA: string, b: string, ifB: string, opts: { mtu?: number } = {}): Promise<void> {
    // Temporary names in the root namespace: short and random, so any prefix length and concurrent users fit.
    const tmp = `n6${Math.random().toString(36).slice(2, 10)}`;
    await run(['ip', 'link', 'add', `${tmp}a`, 'type', 'veth', 'peer', 'name', `${tmp}b`]);
    await run(['ip', 'link', 'set', `${tmp}a`, 'netns', this.ns(a).name, 'name', ifA]);
    await run(['ip', 'link', 'set', `${tmp}b`, 'netns', this.ns(b).name, 'name', ifB]);
    for (const [n, i] of [[a, ifA], [b, ifB]] as const) {
      if (opts.mtu) await this.ns(n).exec(['ip', 'link', 'set', i, 'mtu', String(opts.mtu)]);
      await this.ns(n).exec(['ip', 'link', 'set', i, 'up']);
    }
  }

  async addAddress(ns: string, iface: string, cidr: string): Promise<void> {
    await this.ns(ns).exec(['ip', '-6', 'addr', 'add', cidr, 'dev', iface, 'nodad']);
  }

  async addRoute(ns: string, dst: string, via: string, iface?: string): Promise<void> {
    await this.ns(ns).exec(['ip', '-6', 'route', 'add', dst, 'via', via, ...(iface ? ['dev', iface] : [])]);
  }

  // Starts a long-running process in a namespace; it is killed by destroy().
  spawn(ns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = this.ns(ns).spawn(argv, opts);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  async destroy(): Promise<void> {
    this.destroySync();
  }

  // Synchronous so it can run from an 'exit' handler: kill every process, then delete every namespace
  // (which removes its interfaces and its ip6tables rules with it).
  destroySync(): void {
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.clear();
    for (const ns of this.namespaces.values()) killAndDelete(ns.name);
    this.namespaces.clear();
    liveTopologies.delete(this);
  }
}

function killAndDelete(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } catch {
    /* namespace already gone */
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}

// Polls `check` until it returns true (readiness instead of sleeping); throws after `timeoutMs`.
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
