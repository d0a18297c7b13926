// Builds a LabTopology (data) into network namespaces with src/netns.ts, and removes it again.
import { mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { Namespace, run, Topology } from '../netns';
import type { LabTopology } from './topology';

export const LAB_PREFIX = 'npt66-lab-';

// `ip netns exec NS` bind-mounts /etc/netns/NS/* over /etc (iproute2 netns.c): a hosts file there gives the
// lab's container a "dns.google" to ping by name.
const NETNS_ETC = '/etc/netns';

// Removes one namespace's /etc/netns files, and /etc/netns itself once nothing else is in it.
function removeNetnsEtc(name: string): void {
  rmSync(path.join(NETNS_ETC, name), { recursive: true, force: true });
  try {
    rmdirSync(NETNS_ETC);
  } catch {
    /* absent, or still used by other namespaces */
  }
}

// Topology that can be kept when the lab exits with --keep, and that can hold a namespace made by someone else
// (the Docker container's) and clean-ups to run before its namespaces go (the lab's dockerd).
export class LabNetwork extends Topology {
  private kept = false;
  private readonly cleanups: (() => void)[] = [];

  // Names the network namespace of process `pid` (`ip netns attach`), so the lab's tools reach it like the others;
  // destroySync unnames it (the namespace lives on as long as the process does).
  async attach(name: string, pid: number): Promise<Namespace> {
    const ns = new Namespace(`${this.prefix}${name}`);
    this.namespaces.set(name, ns); // first: destroySync removes the name even if it comes while `ip` runs
    await run(['ip', 'netns', 'attach', ns.name, String(pid)]);
    return ns;
  }

  // Runs `fn` (synchronous, never throwing) first in destroySync, the last added first: also on an error,
  // Ctrl-C or SIGTERM (src/netns.ts's exit hook).
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  // Leave everything in place when this process exits (`npm run lab -- --keep`); `npt66 lab --down` removes it.
  keep(): void {
    this.kept = true;
  }

  override destroySync(): void {
    if (this.kept) return;
    for (const fn of this.cleanups.splice(0).reverse()) fn();
    for (const n of this.namespaces.values()) removeNetnsEtc(n.name);
    super.destroySync();
  }
}

// Removes what a lab left behind (namespaces and their /etc/netns files).
export function removeStaleLab(prefix = LAB_PREFIX): void {
  Topology.removeStale(prefix);
  try {
    for (const name of readdirSync(NETNS_ETC)) {
      if (name.startsWith(prefix)) removeNetnsEtc(name);
    }
  } catch {
    /* no /etc/netns */
  }
}

export async function buildLab(data: LabTopology, prefix = LAB_PREFIX): Promise<LabNetwork> {
  removeStaleLab(prefix);
  const net = new LabNetwork(prefix);
  try {
    for (const n of data.namespaces) await net.addNamespace(n.name, { forwarding: n.forwarding ?? false });
    for (const n of net.namespaces.values()) {
      // Deterministic flow labels (the same bytes on both sides of the gateway but for the prefix), and
      // ICMPv6 errors not rate-limited so every traceroute probe gets its answer.
      await n.sysctl('net.ipv6.auto_flowlabels', 0);
      await n.sysctl('net.ipv6.icmp.ratelimit', 0);
    }
    for (const br of data.bridges) {
      await net.ns(br.ns).exec(['ip', 'link', 'add', br.name, 'type', 'bridge', 'mcast_snooping', '0']);
      await net.ns(br.ns).exec(['ip', 'link', 'set', br.name, 'up']);
    }
    for (const l of data.links) await net.link(l.a.ns, l.a.iface, l.b.ns, l.b.iface, l.mtu ? { mtu: l.mtu } : {});
    for (const br of data.bridges) {
      for (const port of br.ports) await net.ns(br.ns).exec(['ip', 'link', 'set', port, 'master', br.name]);
    }
    for (const a of data.addresses) await net.addAddress(a.ns, a.iface, a.cidr);
    for (const r of data.routes) await net.addRoute(r.ns, r.dst, r.via);
    for (const s of data.sysctls) await net.ns(s.ns).sysctl(s.key, s.value);
    const hosts = new Map<string, string[]>();
    for (const h of data.hosts) hosts.set(h.ns, [...(hosts.get(h.ns) ?? []), `${h.address} ${h.name}`]);
    for (const [ns, lines] of hosts) {
      const dir = path.join(NETNS_ETC, net.ns(ns).name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'hosts'), ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...lines, ''].join('\n'));
    }
  } catch (e) {
    net.destroySync();
    throw e;
  }
  return net;
}
