// The path trace: one ping with tcpdump at each point of its path; prints the request going forward and the
// reply coming back, marking where the addresses (and the echo identifier) changed and which npt66 changed them.
import { waitFor } from '../netns';
import type { LabNetwork } from './build';
import { TextCapture, type EchoLine } from './capture';
import { runnerOf, type CheckResult, type Out, type Runner } from './probes';

export interface CapturePoint {
  ns: string;
  iface: string;
  where: string;
  by?: string; // the translator between the previous point and this one
}

export async function tracePing(
  net: LabNetwork,
  out: Out,
  from: string | Runner,
  to: string,
  points: CapturePoint[],
  name: string,
  expect: (all: EchoLine[]) => boolean,
): Promise<CheckResult> {
  const filter = 'icmp6 and (ip6[40] == 128 or ip6[40] == 129)';
  const caps: { point: CapturePoint; cap: TextCapture }[] = [];
  try {
    for (const p of points) caps.push({ point: p, cap: await TextCapture.start(net, p.ns, p.iface, filter, p.where) });
    const ping = await runnerOf(net, from)(['ping6', '-c', '1', '-W', '3', to]);
    // Each point sees the request and the reply (the first and last points may see only one each way).
    await waitFor('captures', () => caps.every((c) => c.cap.echoes().length >= 2), 3000).catch(() => undefined);
    const show = (lines: { point: CapturePoint; e: EchoLine }[], forward: boolean) => {
      let prev: { point: CapturePoint; e: EchoLine } | null = null;
      for (const cur of lines) {
        if (prev && (prev.e.src !== cur.e.src || prev.e.dst !== cur.e.dst || prev.e.id !== cur.e.id)) {
          const what = [
            ...(prev.e.src !== cur.e.src ? [`source ${prev.e.src} -> ${cur.e.src}`] : []),
            ...(prev.e.dst !== cur.e.dst ? [`destination ${prev.e.dst} -> ${cur.e.dst}`] : []),
            ...(prev.e.id !== cur.e.id ? [`echo id ${prev.e.id} -> ${cur.e.id}`] : []),
          ];
          const by = (forward ? cur.point.by : prev.point.by) ?? 'npt66';
          out(`      ^ ${by} rewrote the ${what.join(', the ')}`);
        }
        out(`    ${cur.point.where}  ${cur.e.src} > ${cur.e.dst}  echo ${cur.e.kind} id ${cur.e.id}`);
        prev = cur;
      }
    };
    const of = (kind: EchoLine['kind'], list: typeof caps) => list.flatMap((c) => c.cap.echoes().filter((x) => x.kind === kind).map((e) => ({ point: c.point, e })));
    show(of('request', caps), true);
    show(of('reply', [...caps].reverse()), false);
    const all = caps.flatMap((c) => c.cap.echoes());
    const ok = ping.code === 0 && expect(all);
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ping.code === 0 ? '' : ` (ping: ${ping.stdout.trim().split('\n').pop()})`}`);
    return { name, ok, detail: ok ? 'ping answered' : 'see the path above' };
  } finally {
    for (const c of caps) c.cap.stop();
  }
}
