// Loss-free rate: the highest offered rate whose loss stays within a tolerance, by binary search on the offered
// rate (geometric) with short trials (RFC 2544 s26.1's throughput, with a tolerance since short trials on a shared machine
// see the odd stray drop).
import type { LossFree } from './results';
import type { TrialResult } from './trial';

export interface SearchOptions {
  steps: number;
  tolerance: number; // largest acceptable loss ratio
  trial(rate: number): Promise<TrialResult>;
  progress(t: TrialResult): void;
}

export async function lossFreeRate(atMax: TrialResult, o: SearchOptions): Promise<LossFree> {
  const probes: LossFree['probes'] = [];
  const ok = (t: TrialResult): boolean => 1 - t.ratio <= o.tolerance;
  if (ok(atMax)) return { pps: atMax.offeredPps, atGeneratorMax: true, probes, best: atMax };
  let lo = 0; // highest rate known to pass
  let best: TrialResult | null = null;
  let hi = atMax.offeredPps; // lowest rate known to fail
  // What got through at the maximum is the natural first guess; then halve the interval on a log scale. A
  // translator whose goodput collapses under overload delivers far less at the maximum than it can carry
  // without loss, so the answer may lie anywhere between that guess and the maximum: the geometric middle gets
  // there in a few steps where the arithmetic one would spend them all near the top.
  // Never below an eighth of the maximum offered rate: a collapse at the maximum says little about the loss-free
  // rate, and short quick-mode searches cannot afford to climb from there.
  let rate = Math.max(1000, atMax.deliveredPps * 0.95, atMax.offeredPps / 8);
  for (let step = 0; step < o.steps; step++) {
    const t = await o.trial(Math.round(rate));
    o.progress(t);
    probes.push({ offeredPps: t.offeredPps, ratio: t.ratio });
    if (ok(t) && t.offeredPps > lo) {
      lo = t.offeredPps;
      best = t;
    }
    if (!ok(t)) hi = Math.min(hi, rate);
    if (hi - lo <= hi * 0.02) break;
    rate = lo > 0 ? Math.sqrt(lo * hi) : hi / 2;
  }
  return { pps: lo, atGeneratorMax: false, probes, best };
}
