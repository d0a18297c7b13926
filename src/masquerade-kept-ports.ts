// Outside ports a masquerade entry's mappings may still hold after a reload changed its port range or
// "privilegedPorts": a mapping keeps its port until it expires (native/core/nat66_table.h, "Tunables"), so the
// inbound rules keep queuing those ports beside the new range; once the table holds none of them
// (masqueradeHoldsPorts) they are let go.
import type { NativeMasquerade } from './native';
import type { PortRange } from './rules/plan';

// The outside ports new mappings of `m` take: [portMin, portMax], and 1-1023 with privilegedPorts.
export function dynamicPorts(m: Pick<NativeMasquerade, 'portMin' | 'portMax' | 'privilegedPorts'>): PortRange[] {
  return [...(m.privilegedPorts ? [{ min: 1, max: 1023 }] : []), { min: m.portMin, max: m.portMax }];
}

// `ranges` less every port of `minus`, merged and sorted.
export function subtractPorts(ranges: readonly PortRange[], minus: readonly PortRange[]): PortRange[] {
  let out = [...ranges].sort((a, b) => a.min - b.min);
  for (const m of minus) {
    out = out.flatMap((r) => {
      if (m.max < r.min || m.min > r.max) return [r];
      return [...(r.min < m.min ? [{ min: r.min, max: m.min - 1 }] : []), ...(m.max < r.max ? [{ min: m.max + 1, max: r.max }] : [])];
    });
  }
  const merged: PortRange[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r.min <= last.max + 1) last.max = Math.max(last.max, r.max);
    else merged.push({ ...r });
  }
  return merged;
}

// The ports still to queue after a reload from `before` to `after`: those new mappings took before (and those
// kept then) that new mappings no longer take.
export function keptPortsAfter(
  before: Pick<NativeMasquerade, 'portMin' | 'portMax' | 'privilegedPorts'>,
  keptBefore: readonly PortRange[],
  after: Pick<NativeMasquerade, 'portMin' | 'portMax' | 'privilegedPorts'>,
): PortRange[] {
  return subtractPorts([...dynamicPorts(before), ...keptBefore], dynamicPorts(after));
}

// "20000-29999" (one port: "80").
export function portRangeText(r: PortRange): string {
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}
