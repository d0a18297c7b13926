// "Same message at most once per interval": the first occurrence passes, later ones within the interval are
// counted, and the count is reported when the interval is over (with the next occurrence, or by sweep()).
// A flood of one warning (an interface missing, a rate limit hit) then costs one line per interval, not one per event.
export interface Admission {
  pass: boolean;
  suppressed: number; // occurrences held back in the interval that just ended (reported with this one)
}

export class RepeatLimiter {
  private readonly windows = new Map<string, { start: number; suppressed: number }>();

  constructor(
    readonly intervalMs: number, // 0: every occurrence passes
    private readonly now: () => number = Date.now,
  ) {}

  admit(key: string): Admission {
    if (this.intervalMs <= 0) return { pass: true, suppressed: 0 };
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t - w.start < this.intervalMs) {
      w.suppressed++;
      return { pass: false, suppressed: 0 };
    }
    this.windows.set(key, { start: t, suppressed: 0 });
    return { pass: true, suppressed: w?.suppressed ?? 0 };
  }

  // The keys whose interval is over and that had occurrences held back, with their counts; forgets every
  // finished interval (so the map holds only messages seen in the last interval).
  sweep(): { key: string; suppressed: number }[] {
    const t = this.now();
    const due: { key: string; suppressed: number }[] = [];
    for (const [key, w] of this.windows) {
      if (t - w.start < this.intervalMs) continue;
      if (w.suppressed > 0) due.push({ key, suppressed: w.suppressed });
      this.windows.delete(key);
    }
    return due;
  }

  // Every held-back count, whether or not its interval is over (at shutdown).
  drain(): { key: string; suppressed: number }[] {
    const due = [...this.windows].filter(([, w]) => w.suppressed > 0).map(([key, w]) => ({ key, suppressed: w.suppressed }));
    this.windows.clear();
    return due;
  }
}
