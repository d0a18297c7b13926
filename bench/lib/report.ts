// Writes the results as JSON, a Markdown table (ratios against the kernel's SNPT and node-nfqueue first, since
// absolute numbers depend on the machine) and a hand-written SVG bar chart.
import type { BenchResults, RowResult } from './results';

const kpps = (pps: number): string => (pps >= 1e6 ? `${(pps / 1e6).toFixed(2)} M` : `${(pps / 1e3).toFixed(1)} k`);
const pct = (r: number): string => `${(r * 100).toFixed(1)} %`;
const us = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(0)} µs`);

function ratio(a: number, b: number | undefined): string {
  if (b === undefined || b <= 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

function lossFreeText(r: RowResult): string {
  if (r.lossFree.pps <= 0) return `< ${kpps(Math.min(...r.lossFree.probes.map((p) => p.offeredPps), r.max.offeredPps))}`;
  return `${r.lossFree.atGeneratorMax ? '≥ ' : ''}${kpps(r.lossFree.pps)}`;
}

function cpuText(r: RowResult, forwarding: RowResult | undefined): string {
  if (r.translatorCpuNsPerPacket !== null) return `${r.translatorCpuNsPerPacket.toFixed(0)} ns`;
  if (r.kind === 'forwarding') return `(softirq ${r.softirqNsPerPacket.toFixed(0)} ns)`;
  const extra = forwarding ? r.softirqNsPerPacket - forwarding.softirqNsPerPacket : null;
  return extra === null ? `softirq ${r.softirqNsPerPacket.toFixed(0)} ns` : `softirq +${Math.max(0, extra).toFixed(0)} ns †`;
}

export function markdown(res: BenchResults): string {
  const m = res.machine;
  const out: string[] = [];
  out.push(`# npt66 benchmark results (${res.mode})`, '');
  out.push(`Measured ${res.startedAt} on **${m.cpu}**, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}` +
    `${m.commit ? `, commit ${m.commit}` : ''}; load average at start ${m.loadAverageAtStart.join(' / ')}.`, '');
  out.push(`Topology: sender ns → gateway ns → sink ns over veth; ${res.settings.flows} UDP flows (source address and port vary); ` +
    `packet size = IPv6 packet length; generator: AF_PACKET with qdisc bypass. ${res.settings.cpuLayout}. ` +
    `Loss-free = highest offered rate with ≤ ${pct(res.settings.lossTolerance)} loss in ${res.settings.searchTrialSeconds} s trials ` +
    `(binary search, ${res.settings.searchSteps} steps). Latency: one-way sender → sink at ${kpps(res.settings.latencyRatePps)} pps ` +
    `(or half the loss-free rate if lower), same clock.`, '');
  for (const size of res.settings.sizes) {
    const rows = res.rows.filter((r) => r.size === size);
    if (rows.length === 0) continue;
    const kernel = rows.find((r) => r.id === 'kernel-npt');
    const nodeNfq = rows.find((r) => r.id === 'node-nfqueue');
    const fwd = rows.find((r) => r.id === 'forwarding');
    out.push(`## ${size} B packets`, '');
    out.push('| configuration | loss-free rate | × kernel SNPT | × node-nfqueue | delivered at generator max | translator CPU / packet | latency p50 / p99 | same output as SNPT |');
    out.push('|---|---:|---:|---:|---:|---:|---:|:---:|');
    for (const r of rows) {
      const lat = r.latency ? `${us(r.latency.latencyNs.p50)} / ${us(r.latency.latencyNs.p99)}` : '—';
      const same = r.sameTranslationAsKernel === null ? '' : r.sameTranslationAsKernel ? 'yes' : '**no**';
      out.push(`| ${r.label} | ${lossFreeText(r)} pps | ${ratio(r.lossFree.pps, kernel?.lossFree.pps)} | ` +
        `${ratio(r.lossFree.pps, nodeNfq?.lossFree.pps)} | ${kpps(r.max.deliveredPps)} pps of ${kpps(r.max.offeredPps)} (${pct(r.max.ratio)}) | ` +
        `${cpuText(r, fwd)} | ${lat} | ${same} |`);
    }
    out.push('');
    const batches = rows
      .map((r) => ({ r, c: r.translatorCounters as Record<string, number> | null }))
      .filter(({ c }) => c && c.queue_receive_batches > 0)
      .map(({ r, c }) => `${r.label} ${(c!.queue_received / c!.queue_receive_batches).toFixed(1)}`);
    if (batches.length > 0) {
      out.push(`Packets per recvmmsg() (each batch's verdicts go out in one sendmsg()), over all of a row's trials: ${batches.join(', ')}.`, '');
    }
  }
  out.push('† kernel rows have no translator process: the figure is the system-wide softirq time per packet beyond plain ' +
    'forwarding (tick-sampled, so rough). Userspace rows: utime+stime of the translator process per delivered packet ' +
    'during the loss-free trial (latest.json also has it at the maximum rate).', '');
  if (res.skipped.length > 0) {
    out.push('Not measured in this run:', '');
    for (const s of res.skipped) out.push(`- ${s.label}: ${s.reason}`);
    out.push('');
  }
  out.push('## Core micro-benchmarks', '');
  if (typeof res.micro === 'string') {
    out.push(`Not run: ${res.micro}`, '');
  } else {
    out.push(`Google Benchmark, ${res.settings.micro}. ns/packet is the inverse of the throughput (all threads ` +
      'together for the threaded ones). Targets (issue 5): NPTv6 ≤ 5 ns/packet, masquerade lookup ≤ 30 ns at 1 M mappings.', '');
    out.push('| benchmark | ns / packet | packets / s |', '|---|---:|---:|');
    for (const b of res.micro) out.push(`| ${b.name} | ${b.nsPerPacket.toFixed(1)} | ${kpps(b.packetsPerSecond)} |`);
    out.push('');
  }
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Horizontal bars: for each packet size a panel, for each configuration its loss-free rate (solid) over its
// delivered rate at the generator's maximum (pale).
export function svg(res: BenchResults): string {
  const labelW = 230, barW = 460, rowH = 22, panelGap = 36, top = 62;
  const panels = res.settings.sizes.map((size) => res.rows.filter((r) => r.size === size)).filter((p) => p.length > 0);
  const height = top + panels.reduce((h, p) => h + p.length * rowH + panelGap, 0) + 30;
  const width = labelW + barW + 170;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">npt66 benchmark (${res.mode}), packets/s</text>`);
  parts.push(`<text x="10" y="38" fill="#333">solid: loss-free rate; pale: delivered at the generator's maximum. ` +
    `<tspan fill="#777">■ forwarding</tspan> <tspan fill="#2a5db0">■ kernel</tspan> <tspan fill="#c2571a">■ baselines</tspan> <tspan fill="#1b7f3b">■ npt66</tspan></text>`);
  let y = top;
  for (const rows of panels) {
    const size = rows[0].size;
    const scale = Math.max(...rows.map((r) => Math.max(r.lossFree.pps, r.max.deliveredPps)), 1);
    parts.push(`<text x="10" y="${y + 4}" font-weight="bold">${size} B packets</text>`);
    y += 12;
    for (const r of rows) {
      const lf = (r.lossFree.pps / scale) * barW;
      const mx = (r.max.deliveredPps / scale) * barW;
      const color = r.kind === 'userspace' ? (r.id.startsWith('npt66') ? '#1b7f3b' : '#c2571a') : r.kind === 'kernel' ? '#2a5db0' : '#777';
      parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${mx.toFixed(1)}" height="${rowH - 6}" fill="${color}" opacity="0.3"/>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${lf.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`);
      parts.push(`<text x="${labelW + Math.max(lf, mx) + 6}" y="${y + 15}">${esc(lossFreeText(r))} / ${esc(kpps(r.max.deliveredPps))}</text>`);
      y += rowH;
    }
    y += panelGap - 12;
  }
  parts.push(`<text x="10" y="${height - 10}" fill="#555">${esc(`${res.machine.cpu}, ${res.machine.cores} cores, Linux ${res.machine.kernel}, ${res.startedAt}`)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
