// The soak's lab: one gateway doing NPTv6 for one inside host and masquerade for another, towards one outside
// host that answers both.
//
//   n1 fe0a::10 ── eth0 ┐                                     NPTv6: fd5a:ceb9:ed8d:fe0a::/64 <-> 2001:db8:ff66::/64
//                       gw eth1 2001:db8:100::2 ──── out 2001:db8:100::1
//   c1 1::2 ─────── eth2 ┘                                     masquerade: fd5a:ceb9:ed8d:1::/64 -> 2001:db8:100::2
//
// out routes the NPTv6 outside prefix to gw and knows no inside prefix, so nothing untranslated gets an answer.
import type { Topology } from '../../src/netns';
import { NetnsLab } from '../netns/lib/netns_lab';

export const NPT_INSIDE = 'fd5a:ceb9:ed8d:fe0a::/64';
export const NPT_OUTSIDE = '2001:db8:ff66::/64';
export const MASQ_SOURCE = 'fd5a:ceb9:ed8d:1::/64';
export const OUTSIDE_IF = 'eth1';

export const SOAK_ADDR = {
  n1: 'fd5a:ceb9:ed8d:fe0a::10',
  gwN1: 'fd5a:ceb9:ed8d:fe0a::1',
  c1: 'fd5a:ceb9:ed8d:1::2',
  gwC1: 'fd5a:ceb9:ed8d:1::1',
  gwOutside: '2001:db8:100::2',
  out: '2001:db8:100::1',
} as const;

export type SoakNs = 'n1' | 'c1' | 'gw' | 'out';

export class SoakLab extends NetnsLab<SoakNs> {
  static create(prefix: string): Promise<SoakLab> {
    return NetnsLab.build(prefix, (t, releaseLock) => new SoakLab(t, releaseLock), layOut);
  }
}

async function layOut(t: Topology): Promise<void> {
  await Promise.all([t.addNamespace('n1'), t.addNamespace('c1'), t.addNamespace('gw', { forwarding: true }), t.addNamespace('out')]);
  await t.link('n1', 'eth0', 'gw', 'eth0');
  await t.link('c1', 'eth0', 'gw', 'eth2');
  await t.link('gw', OUTSIDE_IF, 'out', 'eth0');
  await Promise.all([
    t.addAddress('n1', 'eth0', `${SOAK_ADDR.n1}/64`),
    t.addAddress('gw', 'eth0', `${SOAK_ADDR.gwN1}/64`),
    t.addAddress('c1', 'eth0', `${SOAK_ADDR.c1}/64`),
    t.addAddress('gw', 'eth2', `${SOAK_ADDR.gwC1}/64`),
    t.addAddress('gw', OUTSIDE_IF, `${SOAK_ADDR.gwOutside}/64`),
    t.addAddress('out', 'eth0', `${SOAK_ADDR.out}/64`),
  ]);
  await Promise.all([
    t.addRoute('n1', 'default', SOAK_ADDR.gwN1),
    t.addRoute('c1', 'default', SOAK_ADDR.gwC1),
    t.addRoute('gw', 'default', SOAK_ADDR.out),
    t.addRoute('out', NPT_OUTSIDE, SOAK_ADDR.gwOutside),
  ]);
}
