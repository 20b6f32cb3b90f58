/**
 * Face tracks across frames and temporal smoothing of their expression probabilities — one module for Node
 * (video files, the CLI, the server) and the browser (webcam): plain arithmetic, no DOM and no Node APIs.
 * Each frame's faces are matched to the live tracks greedily by a score mixing box overlap (IoU, against the
 * track's box moved by its velocity) and landmark distance; a track missed for a few frames keeps its id when
 * its face comes back, a face matching no track starts a new id. Per track, the probabilities are smoothed by an
 * exponential moving average or a sliding window, and the label/confidence follow the smoothed ones.
 */
import type { ExpressionLabel } from '../data/labels.js';
import type { Box, Point } from '../faces/box.js';
import type { Face } from './facePipeline.js';
import { TrackSummaries, type TrackSummary } from './trackSummary.js';

export type { TrackSummary } from './trackSummary.js';

export type Smoothing = 'ema' | 'window' | 'none';
export const SMOOTHINGS: readonly Smoothing[] = ['ema', 'window', 'none'];

export interface FaceTrackerOptions {
  /** 'ema' (default): p ← alpha·new + (1 − alpha)·p; 'window': the mean of the last `window` frames; 'none'. */
  smoothing?: Smoothing;
  /** Weight of the newest frame in the EMA, (0, 1] (default 0.35). */
  alpha?: number;
  /** Frames averaged by 'window' (default 5). */
  window?: number;
  /** Lowest match score (IoU and landmark agreement, 0..1) that continues a track (default 0.3). */
  minMatch?: number;
  /** A track is ended after this many frames without its face (default 10). */
  maxMissedFrames?: number;
  /** … or after this many seconds without it, when frames carry times (default 1; a face in the frame before always continues). */
  maxGapSeconds?: number;
}

/** A face of a frame with its track: `expressions`, `label` and `confidence` are the smoothed ones. */
export interface TrackedFace extends Face {
  /** 1, 2, 3 … in order of appearance; stable while the face is tracked. */
  track: number;
  /** The frame's own probabilities, before smoothing. */
  raw: Partial<Record<ExpressionLabel, number>>;
}

export const TRACKER_DEFAULTS = { smoothing: 'ema', alpha: 0.35, window: 5, minMatch: 0.3, maxMissedFrames: 10, maxGapSeconds: 1 } as const satisfies Required<FaceTrackerOptions>;

interface Track {
  id: number;
  box: Box;
  /** Box centre velocity, px per frame. */
  vx: number;
  vy: number;
  landmarks: Point[];
  lastFrame: number;
  lastTime: number;
  ema: number[] | null;
  history: number[][];
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / (a.width * a.height + b.width * b.height - i);
}

const centre = (b: Box): Point => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/**
 * Shape agreement of two landmark sets, translation removed (each about its mean): 1 when identical, falling to
 * 0 as the mean point distance reaches a quarter of the face's size. Null without landmarks.
 */
function landmarkAgreement(a: readonly Point[], b: readonly Point[], scale: number): number | null {
  if (a.length === 0 || a.length !== b.length || scale <= 0) return null;
  const mean = (ps: readonly Point[]): Point => ({ x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length });
  const ma = mean(a);
  const mb = mean(b);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] as Point;
    const q = b[i] as Point;
    d += Math.hypot(p.x - ma.x - (q.x - mb.x), p.y - ma.y - (q.y - mb.y));
  }
  return Math.max(0, 1 - d / a.length / (0.25 * scale));
}

/**
 * How well a face continues a track missed for `gap − 1` frames, 0..1: box overlap (IoU against the track's
 * box moved by its velocity, or its last box), centre proximity (within ~1.5 face sizes, more after misses) and
 * landmark shape; 0 for boxes of very different sizes or far apart.
 */
function matchScore(face: Face, tr: Track, gap: number): number {
  const moved = { ...tr.box, x: tr.box.x + tr.vx * gap, y: tr.box.y + tr.vy * gap };
  const size = Math.sqrt(face.box.width * face.box.height);
  const was = Math.sqrt(tr.box.width * tr.box.height);
  if (Math.min(size, was) < 0.5 * Math.max(size, was)) return 0;
  const c = centre(face.box);
  const p = centre(moved);
  const proximity = Math.max(0, 1 - Math.hypot(c.x - p.x, c.y - p.y) / (size * (1.5 + 0.25 * (gap - 1))));
  if (proximity === 0) return 0;
  const overlap = Math.max(iou(face.box, moved), iou(face.box, tr.box));
  const shape = landmarkAgreement(face.landmarks, tr.landmarks, size);
  return shape === null ? 0.5 * overlap + 0.5 * proximity : 0.4 * overlap + 0.3 * proximity + 0.3 * shape;
}

export class FaceTracker {
  private readonly o: Required<FaceTrackerOptions>;
  private tracks: Track[] = [];
  private nextId = 1;
  private frameNo = -1;
  private readonly summaries = new TrackSummaries();

  constructor(options: FaceTrackerOptions = {}) {
    this.o = { ...TRACKER_DEFAULTS, ...options };
    const { smoothing, alpha, window, minMatch } = this.o;
    if (!SMOOTHINGS.includes(smoothing)) throw new RangeError(`FaceTracker: smoothing must be ${SMOOTHINGS.join(', ')}; got '${String(smoothing)}'`);
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`FaceTracker: alpha must be in (0, 1], got ${alpha}`);
    if (!(Number.isInteger(window) && window >= 1)) throw new RangeError(`FaceTracker: window must be an integer ≥ 1, got ${window}`);
    if (!(minMatch >= 0 && minMatch <= 1)) throw new RangeError(`FaceTracker: minMatch must be in [0, 1], got ${minMatch}`);
  }

  /**
   * The faces of the next frame, each with its track id and smoothed probabilities (in the input's order).
   * `time` (seconds) is optional: without it, frames are counted and only maxMissedFrames ends tracks.
   */
  update(faces: readonly Face[], time?: number): TrackedFace[] {
    this.frameNo++;
    const t = time ?? this.frameNo;
    const frame = this.frameNo;
    // the time limit is on misses: a track seen in the frame before goes on however far apart frames are (a
    // clip sampled at 0.5 frames/s, a webcam on a slow machine)
    this.tracks = this.tracks.filter((tr) => frame - tr.lastFrame <= this.o.maxMissedFrames + 1 && (time === undefined || frame - tr.lastFrame <= 1 || t - tr.lastTime <= this.o.maxGapSeconds));
    const pairs: { s: number; f: number; k: number }[] = [];
    faces.forEach((face, f) => {
      this.tracks.forEach((tr, k) => {
        const s = matchScore(face, tr, frame - tr.lastFrame);
        if (s >= this.o.minMatch) pairs.push({ s, f, k });
      });
    });
    pairs.sort((a, b) => b.s - a.s);
    const trackOf = new Map<number, Track>();
    const used = new Set<number>();
    for (const p of pairs) {
      if (trackOf.has(p.f) || used.has(p.k)) continue;
      const tr = this.tracks[p.k] as Track;
      trackOf.set(p.f, tr);
      used.add(p.k);
    }
    const labels = Object.keys(faces[0]?.expressions ?? {}) as ExpressionLabel[];
    return faces.map((face, f) => {
      let tr = trackOf.get(f);
      const cx = face.box.x + face.box.width / 2;
      const cy = face.box.y + face.box.height / 2;
      if (tr === undefined) {
        tr = { id: this.nextId++, box: face.box, vx: 0, vy: 0, landmarks: face.landmarks, lastFrame: frame, lastTime: t, ema: null, history: [] };
        this.tracks.push(tr);
      } else {
        const gap = Math.max(1, frame - tr.lastFrame);
        const vx = (cx - (tr.box.x + tr.box.width / 2)) / gap;
        const vy = (cy - (tr.box.y + tr.box.height / 2)) / gap;
        tr.vx = 0.5 * tr.vx + 0.5 * vx;
        tr.vy = 0.5 * tr.vy + 0.5 * vy;
        tr.box = face.box;
        tr.landmarks = face.landmarks;
        tr.lastFrame = frame;
        tr.lastTime = t;
      }
      const p = labels.map((l) => face.expressions[l] ?? 0);
      const smoothed = this.smooth(tr, p);
      let best = 0;
      smoothed.forEach((v, i) => {
        if (v > (smoothed[best] ?? 0)) best = i;
      });
      const expressions: Partial<Record<ExpressionLabel, number>> = {};
      labels.forEach((l, i) => (expressions[l] = smoothed[i] ?? 0));
      const label = labels[best] ?? face.label;
      this.summaries.add(tr.id, t, label);
      return { ...face, track: tr.id, raw: face.expressions, expressions, label, confidence: smoothed[best] ?? face.confidence };
    });
  }

  private smooth(tr: Track, p: number[]): number[] {
    const { smoothing, alpha, window } = this.o;
    if (smoothing === 'none') return p;
    if (smoothing === 'ema') {
      tr.ema = tr.ema === null ? p : tr.ema.map((v, i) => alpha * (p[i] ?? 0) + (1 - alpha) * v);
      return tr.ema;
    }
    tr.history.push(p);
    if (tr.history.length > window) tr.history.shift();
    return p.map((_, i) => tr.history.reduce((s, h) => s + (h[i] ?? 0), 0) / tr.history.length);
  }

  /** Ids of the tracks still alive (seen within the miss limits). */
  get liveTracks(): number[] {
    return this.tracks.map((t) => t.id);
  }

  /**
   * Every track seen so far: first and last time, duration, frames, dominant expression and the share of its
   * frames per expression (of the smoothed labels). `frameSeconds` is added to each duration (one frame's length).
   */
  summary(frameSeconds = 0): TrackSummary[] {
    return this.summaries.list(frameSeconds);
  }

  /** Forget every track (ids start again at 1). */
  reset(): void {
    this.tracks = [];
    this.nextId = 1;
    this.frameNo = -1;
    this.summaries.clear();
  }
}

/** The largest face of a frame (by box area), as a list of zero or one. */
export function largestFace<F extends Face>(faces: readonly F[]): F[] {
  let best: F | undefined;
  for (const f of faces) if (best === undefined || f.box.width * f.box.height > best.box.width * best.box.height) best = f;
  return best === undefined ? [] : [best];
}
