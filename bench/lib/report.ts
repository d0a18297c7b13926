// Writes the results as JSON, a Markdown table (ratios against the kernel's SNPT and node-nfqueue first, since
// absolute numbers depend on the machine) and a hand-written SVG bar chart.
import { bulkTests, udpGsoSegment } from './bulk';
import type { BenchResults, BulkRow, RowResult } from './results';

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

const gbitText = (g: number): string => g.toFixed(2);
const gigabits = (r: BulkRow): number => (r.trial.bytes * 8) / 1e9;
const msPerGbit = (ns: number, r: BulkRow): string => `${(ns / 1e6 / gigabits(r)).toFixed(0)} ms`;

// The kernel's row for the same translation in the same run: what an npt66 row is measured against.
function kernelCounterpart(r: BulkRow, rows: BulkRow[]): BulkRow | undefined {
  const id = r.translation === 'nptv6' ? 'kernel-npt' : r.translation === 'masquerade' ? 'kernel-masq' : null;
  return id === null ? undefined : rows.find((k) => k.id === id && k.test === r.test);
}

function bulkCpuText(r: BulkRow, forwarding: BulkRow | undefined): string {
  if (gigabits(r) <= 0) return '—';
  if (r.trial.translatorCpuNs !== null) return msPerGbit(r.trial.translatorCpuNs, r);
  if (r.kind !== 'kernel' || !forwarding || gigabits(forwarding) <= 0) return '—';
  const extra = r.trial.softirqNs / gigabits(r) - forwarding.trial.softirqNs / gigabits(forwarding);
  return `softirq +${(Math.max(0, extra) / 1e6).toFixed(0)} ms †`;
}

function bulkNotes(r: BulkRow): string {
  const t = r.trial;
  const notes: string[] = [];
  if (t.tcp) notes.push(`${t.tcp.retransmits} retransmits`);
  const d = r.kernelQueueDrops;
  if (d && d.queueDropped > 0) notes.push(`queue full: ${d.queueDropped} dropped`);
  if (d && d.userDropped > 0) notes.push(`socket buffer full: ${d.userDropped} dropped`);
  if (t.tcp) return notes.join(', ');
  const u = t.udp!;
  notes.unshift(`${pct(u.sentSegments > 0 ? u.receivedSegments / u.sentSegments : 0)} of ${gbitText(t.offeredGbps ?? 0)} Gbit/s offered`);
  if (u.intactSegments !== u.receivedSegments) notes.push(`**${u.receivedSegments - u.intactSegments} segments not intact**`);
  if (u.csumErrors > 0) notes.push(`**${u.csumErrors} checksum errors**`);
  if (u.rcvbufErrors > 0) notes.push(`${u.rcvbufErrors} sink buffer overflows`);
  return notes.join(', ');
}

function bulkMarkdown(res: BenchResults): string[] {
  if (!res.bulk || res.bulk.length === 0) return [];
  const out: string[] = [];
  out.push('## TCP bulk and UDP GSO', '');
  out.push(`Each transfer ${res.settings.bulkSeconds} s, on a translator set up for it alone. TCP: iperf3 from the inside host ` +
    '(sender ns) to the outside host (sink ns) through the gateway, 1 stream and 4 (`-P 4`), the hosts\' own GSO/GRO and ' +
    `congestion control. UDP GSO: one flow of ${udpGsoSegment} B packets sent as UDP_SEGMENT super-datagrams of up to 64 KB ` +
    `(as QUIC senders do), ${res.settings.udpGsoGbps > 0 ? `paced to ${res.settings.udpGsoGbps} Gbit/s` : 'as fast as the sender can'}, into a UDP_GRO socket. Gbit/s: payload the receiver got. ` +
    '× kernel: against the kernel\'s SNPT/DNPT (NPTv6 rows) or MASQUERADE (masquerade rows) in the same run. ' +
    'Translator CPU / Gbit: utime+stime of the npt66 engine process per gigabit moved. Queue messages / packet: the ' +
    'engine\'s queue_received over the packets a real link would carry (TCP: payload / MSS plus the ACKs; UDP: ' +
    'segments received); 1 means one message per packet (the kernel segments every super-packet before queueing it), ' +
    'well below 1 means super-packets are queued whole. Segments per sink skb: how aggregated the traffic reached the ' +
    'sink (veth keeps super-packets whole when nothing cuts them). Last column: drops the kernel counted on the ' +
    'queues (nfnetlink_queue: queue at its maximum length, or the engine\'s socket buffer full; one drop is a whole ' +
    'super-packet when GSO is on).', '');
  out.push(res.engineGsoOption
    ? 'The engine has the gso option (NFQA_CFG_F_GSO): npt66 rows run with its default (on) unless the label says "GSO off".'
    : '**The engine of this run had no gso option: every npt66 row ran with GSO off** (the "GSO off" row equals the default).', '');
  for (const { test, label } of bulkTests) {
    const rows = res.bulk.filter((r) => r.test === test);
    if (rows.length === 0) continue;
    const fwd = rows.find((r) => r.id === 'forwarding');
    out.push(`### ${label}`, '');
    out.push('| configuration | Gbit/s | × kernel | translator CPU / Gbit | softirq / Gbit (all CPUs) | queue messages / packet | segments per sink skb | |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of rows) {
      const k = kernelCounterpart(r, rows);
      const segments = r.trial.tcp ? r.trial.tcp.dataSegments : r.trial.udp!.receivedSegments;
      out.push(`| ${r.label} | ${gbitText(r.trial.gbps)} | ${ratio(r.trial.gbps, k?.trial.gbps)} | ${bulkCpuText(r, fwd)} | ` +
        `${gigabits(r) > 0 ? msPerGbit(r.trial.softirqNs, r) : '—'} | ` +
        `${r.queueMessagesPerPacket === null ? '—' : r.queueMessagesPerPacket.toFixed(2)} | ` +
        `${r.trial.sinkSkbs > 0 ? (segments / r.trial.sinkSkbs).toFixed(1) : '—'} | ${bulkNotes(r)} |`);
    }
    out.push('');
  }
  out.push('† kernel rows have no translator process: system-wide softirq time per gigabit beyond plain forwarding\'s in the ' +
    'same test (tick-sampled, and the hosts\' own TCP work is in it too: rough).', '');
  return out;
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
  if (res.rows.length > 0) {
    out.push('† kernel rows have no translator process: the figure is the system-wide softirq time per packet beyond plain ' +
      'forwarding (tick-sampled, so rough). Userspace rows: utime+stime of the translator process per delivered packet ' +
      'during the loss-free trial (latest.json also has it at the maximum rate).', '');
  }
  out.push(...bulkMarkdown(res));
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

interface Bar {
  label: string;
  color: string;
  solid: number;
  pale: number;
  text: string;
}

interface Panel {
  title: string;
  bars: Bar[];
}

function colorOf(r: { kind: string; id: string }): string {
  return r.kind === 'userspace' ? (r.id.startsWith('npt66') ? '#1b7f3b' : '#c2571a') : r.kind === 'kernel' ? '#2a5db0' : '#777';
}

// Horizontal bars, one panel per packet size and per bulk test. Packet-rate panels: the loss-free rate (solid)
// over the delivered rate at the generator's maximum (pale). Bulk panels: Gbit/s the receiver got (solid), for
// UDP GSO over what the sender offered (pale), with the ratio to the kernel's counterpart.
export function svg(res: BenchResults): string {
  const labelW = 230, barW = 460, rowH = 22, panelGap = 36, top = 62;
  const panels: Panel[] = [];
  for (const size of res.settings.sizes) {
    const rows = res.rows.filter((r) => r.size === size);
    if (rows.length === 0) continue;
    panels.push({
      title: `${size} B packets, packets/s (solid: loss-free; pale: delivered at the generator's maximum)`,
      bars: rows.map((r) => ({
        label: r.label,
        color: colorOf(r),
        solid: r.lossFree.pps,
        pale: r.max.deliveredPps,
        text: `${lossFreeText(r)} / ${kpps(r.max.deliveredPps)}`,
      })),
    });
  }
  for (const { test, label } of bulkTests) {
    const rows = (res.bulk ?? []).filter((r) => r.test === test);
    if (rows.length === 0) continue;
    panels.push({
      title: `${label}, Gbit/s received${test === 'udp-gso' ? ' (pale: offered)' : ''}`,
      bars: rows.map((r) => {
        const k = kernelCounterpart(r, rows);
        const vsKernel = k && r.kind !== 'kernel' ? ` (${ratio(r.trial.gbps, k.trial.gbps)} kernel)` : '';
        return {
          label: r.label,
          color: colorOf(r),
          solid: r.trial.gbps,
          pale: r.trial.offeredGbps ?? 0,
          text: `${gbitText(r.trial.gbps)}${vsKernel}`,
        };
      }),
    });
  }
  const height = top + panels.reduce((h, p) => h + p.bars.length * rowH + panelGap, 0) + 30;
  const width = labelW + barW + 170;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">npt66 benchmark (${res.mode})</text>`);
  parts.push(`<text x="10" y="38" fill="#333">` +
    `<tspan fill="#777">■ forwarding</tspan> <tspan fill="#2a5db0">■ kernel</tspan> <tspan fill="#c2571a">■ baselines</tspan> <tspan fill="#1b7f3b">■ npt66</tspan>` +
    `${res.bulk && res.bulk.length > 0 && !res.engineGsoOption ? ' — engine without the gso option: npt66 ran with GSO off' : ''}</text>`);
  let y = top;
  for (const panel of panels) {
    const scale = Math.max(...panel.bars.map((b) => Math.max(b.solid, b.pale)), 1e-9);
    parts.push(`<text x="10" y="${y + 4}" font-weight="bold">${esc(panel.title)}</text>`);
    y += 12;
    for (const b of panel.bars) {
      const solid = (b.solid / scale) * barW;
      const pale = (b.pale / scale) * barW;
      parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${pale.toFixed(1)}" height="${rowH - 6}" fill="${b.color}" opacity="0.3"/>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${solid.toFixed(1)}" height="${rowH - 6}" fill="${b.color}"/>`);
      parts.push(`<text x="${labelW + Math.max(solid, pale) + 6}" y="${y + 15}">${esc(b.text)}</text>`);
      y += rowH;
    }
    y += panelGap - 12;
  }
  parts.push(`<text x="10" y="${height - 10}" fill="#555">${esc(`${res.machine.cpu}, ${res.machine.cores} cores, Linux ${res.machine.kernel}, ${res.startedAt}`)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
