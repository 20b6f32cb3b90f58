/**
 * The faces of consecutive frames with the detector run on every k-th frame only (Node and browser alike: plain
 * arithmetic around the pipeline). Between two detections each face of the frame before is *followed*: the 68
 * landmarks are found again inside its box, the box is moved and scaled with them, and the face is aligned and
 * classified as usual. A face whose landmarks lose their shape (it left, turned away, was covered), whose size
 * jumps or whose box leaves the image ends the following: that frame is detected afresh. A frame after one with
 * no face is always detected; a new face entering beside followed ones is found at the next detection, at most
 * k − 1 frames late.
 */
import type { FaceDetection, Point } from '../faces/box.js';
import type { Face } from './facePipeline.js';
import type { RgbPixels } from './readImage.js';

export interface KeyframeOptions {
  /**
   * Run the detector on every k-th frame (default 1: on every frame, each frame's faces exactly as a photo's);
   * in between, the faces found are followed by their landmarks (about half the cost of a frame at k = 5).
   */
  detectEvery?: number;
  /**
   * Largest change of a followed face's landmark shape from the frame before (mean point distance, position and
   * scale removed, in units of the face's landmark spread) before the frame is detected afresh (default 0.25).
   */
  maxShapeChange?: number;
}

export const KEYFRAME_DEFAULTS = { detectEvery: 1, maxShapeChange: 0.25 } as const satisfies Required<KeyframeOptions>;

/** The two halves of the pipeline this needs: a whole frame, or the faces at given boxes (no detector). */
export interface FramePipeline {
  detect(img: RgbPixels): Promise<Face[]>;
  facesAt(img: RgbPixels, boxes: readonly FaceDetection[]): Promise<Face[]>;
}

/** Mean and RMS distance from it. */
function spread(ps: readonly Point[]): { x: number; y: number; r: number } {
  const n = ps.length;
  const x = ps.reduce((s, p) => s + p.x, 0) / n;
  const y = ps.reduce((s, p) => s + p.y, 0) / n;
  const r = Math.sqrt(ps.reduce((s, p) => s + (p.x - x) ** 2 + (p.y - y) ** 2, 0) / n);
  return { x, y, r };
}

/** Mean point distance of two landmark sets with position and scale removed, in units of their spread. */
export function shapeChange(a: readonly Point[], b: readonly Point[]): number {
  if (a.length === 0 || a.length !== b.length) return Infinity;
  const sa = spread(a);
  const sb = spread(b);
  if (!(sa.r > 0 && sb.r > 0)) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] as Point;
    const q = b[i] as Point;
    d += Math.hypot((p.x - sa.x) / sa.r - (q.x - sb.x) / sb.r, (p.y - sa.y) / sa.r - (q.y - sb.y) / sb.r);
  }
  return d / a.length;
}

/** Size ratio between frames beyond which a followed face counts as lost. */
const MAX_SCALE_STEP = 1.25;

export class KeyframeFaces {
  private readonly o: Required<KeyframeOptions>;
  private last: Face[] = [];
  private sinceDetection = 0;
  /** Frames seen, and those the detector ran on. */
  frames = 0;
  detections = 0;

  constructor(
    private readonly pipeline: FramePipeline,
    options: KeyframeOptions = {},
  ) {
    this.o = { ...KEYFRAME_DEFAULTS, ...options };
    if (!(Number.isInteger(this.o.detectEvery) && this.o.detectEvery >= 1)) throw new RangeError(`detectEvery must be an integer ≥ 1, got ${String(this.o.detectEvery)}`);
    if (!(this.o.maxShapeChange > 0)) throw new RangeError(`maxShapeChange must be > 0, got ${String(this.o.maxShapeChange)}`);
  }

  /** The faces of the next frame. */
  async next(img: RgbPixels): Promise<Face[]> {
    this.frames++;
    if (this.sinceDetection + 1 < this.o.detectEvery && this.last.length > 0) {
      const followed = await this.follow(img);
      if (followed !== null) {
        this.sinceDetection++;
        this.last = followed;
        return followed;
      }
    }
    this.detections++;
    this.sinceDetection = 0;
    this.last = await this.pipeline.detect(img);
    return this.last;
  }

  /** Forget the faces followed (the next frame is detected). */
  reset(): void {
    this.last = [];
    this.sinceDetection = 0;
  }

  /** The faces of the frame before, followed into `img`; null when any of them is lost. */
  private async follow(img: RgbPixels): Promise<Face[] | null> {
    const faces = await this.pipeline.facesAt(img, this.last.map((f) => ({ ...f.box, score: f.score })));
    if (faces.length !== this.last.length) return null;
    const out: Face[] = [];
    for (const [i, f] of faces.entries()) {
      const prev = this.last[i] as Face;
      if (shapeChange(prev.landmarks, f.landmarks) > this.o.maxShapeChange) return null;
      const a = spread(prev.landmarks);
      const b = spread(f.landmarks);
      const scale = b.r / a.r;
      if (!(scale < MAX_SCALE_STEP && scale > 1 / MAX_SCALE_STEP)) return null;
      const { x, y, width, height } = prev.box;
      const cx = x + width / 2 + (b.x - a.x);
      const cy = y + height / 2 + (b.y - a.y);
      const box = { x: cx - (width * scale) / 2, y: cy - (height * scale) / 2, width: width * scale, height: height * scale };
      if (box.x + box.width <= 0 || box.y + box.height <= 0 || box.x >= img.width || box.y >= img.height) return null;
      out.push({ ...f, box, score: prev.score });
    }
    return out;
  }
}
