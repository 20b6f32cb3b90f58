/**
 * The geometry of landmark alignment, in plain JS (no tensors; the browser recognizer uses it too): a
 * similarity transform (rotation, uniform scale, translation; least squares, Umeyama without reflection) from
 * three reference points (eye centres, mouth centre) onto a canonical template. Continuous pixel coordinates,
 * as in align.ts.
 */
import { ExpnetError } from '../errors.js';
import type { Point } from './box.js';

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty (scale √(a² + b²), angle atan2(b, a)). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** A general 2×3 affine map [[m00, m01, m02], [m10, m11, m12]] as a flat row-major array. */
export type Affine = readonly [number, number, number, number, number, number];

/** Template points relative to the crop (0..1); "left" is the eye on the image's left (iBUG points 36–41). */
export interface AlignTemplate {
  leftEye: Point;
  rightEye: Point;
  mouth: Point;
}

/**
 * The default template: face-api's dlib-style proportions (the three points' centroid at (0.5, 0.43) of the
 * crop, mean eye–mouth distance 0.45 of its size) with the inter-ocular / eye-to-mouth-height ratio of the
 * common ArcFace template (0.866); keeps brows and chin inside the crop, as expression recognition needs.
 */
export const DEFAULT_ALIGN_TEMPLATE: AlignTemplate = {
  leftEye: { x: 0.3212, y: 0.2923 },
  rightEye: { x: 0.6788, y: 0.2923 },
  mouth: { x: 0.5, y: 0.7053 },
};

/**
 * Where FER2013's own crops put the eye and mouth centres (fractions of the crop), measured with the 68-point
 * landmark net on 280 FER2013 training images (mean, mirrored to be symmetric); crops made this way look
 * like the data the bundled model learned from. Training re-frames data sets whose crops differ (`DataSet.framing`,
 * e.g. SFEW 2.0) onto it, so every set of a mix and the photo pipeline frame faces alike.
 */
export const FER_CROP_TEMPLATE: AlignTemplate = {
  leftEye: { x: 0.325, y: 0.375 },
  rightEye: { x: 0.675, y: 0.375 },
  mouth: { x: 0.5, y: 0.765 },
};

const centre = (pts: readonly Point[]): Point => ({
  x: pts.reduce((s, p) => s + p.x, 0) / pts.length,
  y: pts.reduce((s, p) => s + p.y, 0) / pts.length,
});

/** Left-eye, right-eye and mouth centres of 68 iBUG landmarks (face-api `getRefPointsForAlignment`). */
export function alignmentPoints(landmarks: readonly Point[]): [Point, Point, Point] {
  if (landmarks.length !== 68) throw new ExpnetError('BAD_INPUT', `alignmentPoints: expected 68 landmarks, got ${landmarks.length}`);
  return [centre(landmarks.slice(36, 42)), centre(landmarks.slice(42, 48)), centre(landmarks.slice(48, 68))];
}

/** The least-squares similarity mapping `from[i]` onto `to[i]` (≥ 2 distinct points; exact when one exists). */
export function similarityTransform(from: readonly Point[], to: readonly Point[]): Similarity {
  if (from.length !== to.length || from.length < 2) {
    throw new ExpnetError('BAD_INPUT', `similarityTransform: expected two equally long lists of ≥ 2 points, got ${from.length} and ${to.length}`);
  }
  const cf = centre(from);
  const ct = centre(to);
  let norm = 0;
  let dot = 0;
  let cross = 0;
  from.forEach((p, i) => {
    const q = to[i] as Point;
    const [px, py, qx, qy] = [p.x - cf.x, p.y - cf.y, q.x - ct.x, q.y - ct.y];
    norm += px * px + py * py;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
  });
  if (!(norm > 0)) throw new ExpnetError('BAD_INPUT', 'similarityTransform: the source points all coincide');
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: ct.x - (a * cf.x - b * cf.y), ty: ct.y - (b * cf.x + a * cf.y) };
}

export function applySimilarity(s: Similarity, p: Point): Point {
  return { x: s.a * p.x - s.b * p.y + s.tx, y: s.b * p.x + s.a * p.y + s.ty };
}

export function invertSimilarity(s: Similarity): Similarity {
  const d = s.a * s.a + s.b * s.b;
  if (!(d > 0)) throw new ExpnetError('BAD_INPUT', 'invertSimilarity: the transform has zero scale');
  const [a, b] = [s.a / d, -s.b / d];
  return { a, b, tx: -(a * s.tx - b * s.ty), ty: -(b * s.tx + a * s.ty) };
}

export function similarityToAffine(s: Similarity): Affine {
  return [s.a, -s.b, s.tx, s.b, s.a, s.ty];
}
