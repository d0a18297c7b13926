// The default control socket, one per network namespace, so that several npt66 (one per namespace, e.g. the
// seed's Docker host and gateway) run with default configurations side by side, and `ip netns exec X npt66 stats`
// finds X's daemon with no flags. Daemon and client compute the same path from the namespace they run in:
//   - PID 1's namespace (the initial one on a host, a container's own inside a container): /run/npt66/npt66.sock;
//   - a namespace named under /run/netns (`ip netns add X`, what `ip netns identify` prints): /run/npt66/X.sock;
//   - any other namespace: /run/npt66/netns-INODE.sock, INODE as in `readlink /proc/self/ns/net` (stable while
//     the namespace lives);
//   - when it cannot be told (no root to read /proc/1/ns/net, no name): /run/npt66/npt66.sock.
import { readdirSync, statSync } from 'node:fs';

export const CONTROL_SOCKET_DIR = '/run/npt66';
export const INITIAL_NAMESPACE_SOCKET = `${CONTROL_SOCKET_DIR}/npt66.sock`;
// `ip netns add` bind-mounts each named namespace here (iproute2's NETNS_RUN_DIR).
const NETNS_RUN_DIR = '/run/netns';
// sockaddr_un.sun_path holds 108 bytes including the NUL.
const SUN_PATH_MAX = 107;

interface NamespaceId {
  dev: number;
  ino: number;
}

function namespaceOf(file: string): NamespaceId | null {
  try {
    const s = statSync(file);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null; // gone, or not ours to see (/proc/1 needs root)
  }
}

const same = (a: NamespaceId, b: NamespaceId | null) => b !== null && a.dev === b.dev && a.ino === b.ino;

// The names of `self` under /run/netns, like `ip netns identify` (same device and inode), sorted.
function namesOf(self: NamespaceId, runDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  return names.filter((n) => same(self, namespaceOf(`${runDir}/${n}`))).sort();
}

// A file name the socket directory can hold: what `ip netns add` accepts has no "/", but keep it to the
// characters a shell user can type without quoting.
const SAFE_NAME = /^[A-Za-z0-9_.@-]+$/;

export interface NamespacePaths {
  self: string; // this process's network namespace
  initial: string; // PID 1's
  runDir: string; // where named namespaces are bind-mounted
}

const SYSTEM_PATHS: NamespacePaths = { self: '/proc/self/ns/net', initial: '/proc/1/ns/net', runDir: NETNS_RUN_DIR };

// The default control socket of the network namespace this process runs in (see the top of this file).
export function defaultControlSocket(paths: NamespacePaths = SYSTEM_PATHS): string {
  const self = namespaceOf(paths.self);
  if (!self) return INITIAL_NAMESPACE_SOCKET;
  const initial = namespaceOf(paths.initial);
  if (same(self, initial)) return INITIAL_NAMESPACE_SOCKET;
  const fits = (p: string) => Buffer.byteLength(p) <= SUN_PATH_MAX;
  for (const name of namesOf(self, paths.runDir)) {
    const p = `${CONTROL_SOCKET_DIR}/${name}.sock`;
    if (SAFE_NAME.test(name) && name !== 'npt66' && !name.startsWith('netns-') && fits(p)) return p;
  }
  if (initial) return `${CONTROL_SOCKET_DIR}/netns-${self.ino}.sock`;
  return INITIAL_NAMESPACE_SOCKET;
}
