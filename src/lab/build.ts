// Builds a LabTopology (data) into network namespaces with src/netns.ts, and removes it again.
import { run, Topology } from '../netns';
import type { LabTopology } from './topology';

export const LAB_PREFIX = 'npt66-lab-';

// Topology with two lab needs: veth names that stay unique with a 10-character prefix (Topology.link derives the
// temporary names from the namespace prefix and cuts them at 15 characters, so with "npt66-lab-" both ends of a
// pair would get the same name), and keeping the namespaces when the lab exits with --keep.
export class LabNetwork extends Topology {
  private kept = false;
  private links = 0;

  override async link(a: string, ifA: string, b: string, ifB: string, opts: { mtu?: number } = {}): Promise<void> {
    const tmp = `ng-l${process.pid % 10000}-${this.links++}`;
    const peer = `${tmp}p`;
    await run(['ip', 'link', 'add', tmp, 'type', 'veth', 'peer', 'name', peer]);
    await run(['ip', 'link', 'set', tmp, 'netns', this.ns(a).name, 'name', ifA]);
    await run(['ip', 'link', 'set', peer, 'netns', this.ns(b).name, 'name', ifB]);
    for (const [n, i] of [
      [a, ifA],
      [b, ifB],
    ] as const) {
      if (opts.mtu) await this.ns(n).exec(['ip', 'link', 'set', i, 'mtu', String(opts.mtu)]);
      await this.ns(n).exec(['ip', 'link', 'set', i, 'up']);
    }
  }

  // Leave everything in place when this process exits (`npm run lab -- --keep`); `npt66 lab --down` removes it.
  keep(): void {
    this.kept = true;
  }

  override destroySync(): void {
    if (!this.kept) super.destroySync();
  }
}

export async function buildLab(data: LabTopology, prefix = LAB_PREFIX): Promise<LabNetwork> {
  Topology.removeStale(prefix);
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
  } catch (e) {
    net.destroySync();
    throw e;
  }
  return net;
}
