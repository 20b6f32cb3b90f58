/** Per-track totals of a tracked sequence: when a face was seen, for how long, and which expression it showed. */
import type { ExpressionLabel } from '../data/labels.js';

export interface TrackSummary {
  track: number;
  /** Times (seconds, or frame numbers when frames carry no time) of its first and last frame. */
  start: number;
  end: number;
  /** end − start plus one frame's length. */
  duration: number;
  frames: number;
  /** The expression of most of its frames (ties: the first to reach the count). */
  dominant: ExpressionLabel;
  /** Fraction of its frames per expression (smoothed labels); expressions never shown are left out. */
  share: Partial<Record<ExpressionLabel, number>>;
}

interface Totals {
  start: number;
  end: number;
  frames: number;
  counts: Map<ExpressionLabel, number>;
}

export class TrackSummaries {
  private readonly totals = new Map<number, Totals>();

  add(track: number, time: number, label: ExpressionLabel): void {
    let t = this.totals.get(track);
    if (t === undefined) {
      t = { start: time, end: time, frames: 0, counts: new Map() };
      this.totals.set(track, t);
    }
    t.end = time;
    t.frames++;
    t.counts.set(label, (t.counts.get(label) ?? 0) + 1);
  }

  list(frameSeconds = 0): TrackSummary[] {
    return [...this.totals.entries()].map(([track, t]) => {
      let dominant: ExpressionLabel | undefined;
      let most = 0;
      const share: Partial<Record<ExpressionLabel, number>> = {};
      for (const [l, n] of t.counts) {
        share[l] = n / t.frames;
        if (n > most) {
          most = n;
          dominant = l;
        }
      }
      return { track, start: t.start, end: t.end, duration: t.end - t.start + frameSeconds, frames: t.frames, dominant: dominant ?? 'neutral', share };
    });
  }

  clear(): void {
    this.totals.clear();
  }
}
