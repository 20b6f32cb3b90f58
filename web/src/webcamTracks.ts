/**
 * The webcam's faces through the shared FaceTracker (src/infer/faceTracker.ts, as the CLI's and the server's
 * videos): track ids stable across frames, each track's probabilities smoothed (EMA, the video default), and an
 * FPS meter over the last second. No DOM and no camera: it takes per-frame results, so it is tested in Node.
 */
import { layoutAnnotations, tagTracks, type AnnotationLayout } from '../../src/infer/annotationLayout.js';
import type { Face } from '../../src/infer/facePipeline.js';
import { FaceTracker, type FaceTrackerOptions, type TrackedFace } from '../../src/infer/faceTracker.js';

/** FPS is counted over this window. */
const FPS_WINDOW_MS = 1000;

export interface TrackedFrame {
  faces: TrackedFace[];
  /** Frames per second over the last second (0 until two frames were seen). */
  fps: number;
}

export class WebcamTracks {
  readonly tracker: FaceTracker;
  private times: number[] = [];

  constructor(options: FaceTrackerOptions = {}) {
    this.tracker = new FaceTracker({ smoothing: 'ema', ...options });
  }

  /** One frame's faces, seen at `nowMs` (performance.now()). */
  frame(faces: readonly Face[], nowMs: number): TrackedFrame {
    this.times.push(nowMs);
    while (this.times.length > 2 && nowMs - (this.times[0] ?? nowMs) > FPS_WINDOW_MS) this.times.shift();
    const first = this.times[0] ?? nowMs;
    const fps = this.times.length > 1 && nowMs > first ? (1000 * (this.times.length - 1)) / (nowMs - first) : 0;
    return { faces: this.tracker.update(faces, nowMs / 1000), fps };
  }

  /** A new stream: ids start again at 1, the meter empties. */
  reset(): void {
    this.tracker.reset();
    this.times = [];
  }
}

/** The photos' layout for a tracked frame, each face's track id drawn in its box. */
export function trackedLayout(size: { width: number; height: number }, faces: readonly TrackedFace[], labels: readonly string[]): AnnotationLayout {
  return tagTracks(layoutAnnotations(size, faces, labels), faces);
}
