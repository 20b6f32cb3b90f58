/**
 * The detect → 68 landmarks → align → classify pipeline on decoded RGB pixels, shared by the Node Recognizer
 * (onnxruntime-node) and the browser's WebRecognizer (onnxruntime-web): plain JS around three InferSessions.
 * Only anchors above the score threshold are decoded (NMS never looks at the others); every face of a photo goes
 * through the landmark net and the classifier in one batch each.
 */
import type { ExpressionLabel } from '../data/labels.js';
import { ExpnetError } from '../errors.js';
import type { Box, FaceDetection, Point } from '../faces/box.js';
import { decodeSsdBoxes, decodeSsdFaces, SSD_FACE_DEFAULTS, type SsdFaceOptions } from '../faces/decodeSsdFaces.js';
import { landmarksToCrop } from '../faces/landmarksToCrop.js';
import type { AlignTemplate } from '../faces/similarity.js';
import { reweightProbs } from './classPrior.js';
import { alignedGrayCrop } from './alignCrop.js';
import type { InferSession } from './ortSession.js';
import type { RgbPixels } from './readImage.js';
import { paddedImage, unpadBox, unpadPoint } from './paddedImage.js';
import { ssdAnchors } from './ssdAnchors.js';
import { ssdModelForSize } from './ssdAtSize.js';
import { quantizeSsd } from './ssdInt8.js';
import { clipRegion, squareInput, type Region } from './squareInput.js';

export const LANDMARKS_INPUT = 112;
/** The detector's input side the bundled SSD was exported for (face-api.js's size). */
export const SSD_EXPORT_SIZE = 512;
/**
 * Default detector input side: 384 is the smallest multiple of 32 that finds the same faces as face-api.js's 512
 * on the real photos of face-photos (test/recognizerFaces.test.ts; 352 and 320 each miss one), at ~0.56× the
 * detector cost. The anchors keep their pixel size, so faces smaller than ~51 px × (photo side / 384) are missed
 * where 512 still sees them — pass `detectorSize: 512` for small faces in large photos.
 */
export const DEFAULT_DETECTOR_SIZE = 384;
/** Default detector arithmetic of the Node Recognizer at the default size (see DetectorPrecision). */
export const DEFAULT_DETECTOR_PRECISION: DetectorPrecision = 'int8';

/**
 * Probability per label of the model. `L` is its labels when the types know them (a union of ExpressionLabels:
 * the bundled models' BundledExpression, or the `labels` given to createRecognizer): exactly those keys, so
 * `expressions.happy` is a number. With `string` (labels unknown to the types) any subset of the expressions.
 */
export type Expressions<L extends string = string> = [L] extends [ExpressionLabel] ? Record<L, number> : Partial<Record<ExpressionLabel, number>>;
/** One of the model's labels: `L` when the types know them, else any expression. */
export type FaceLabel<L extends string = string> = [L] extends [ExpressionLabel] ? L : ExpressionLabel;

export interface Face<L extends string = string> {
  /** In pixels of the (EXIF-rotated) image. */
  box: Box;
  score: number;
  /** 68 points (iBUG order) in image pixels; empty for crop inputs. */
  landmarks: Point[];
  /** Probability per label of the model (its card's labels, in their order). */
  expressions: Expressions<L>;
  /** The most probable label. */
  label: FaceLabel<L>;
  confidence: number;
}

/** The three sessions and what the pipeline needs to know about them. */
export interface PipelineNets {
  detector: InferSession;
  /** Square input side of `detector` (`detectorModel` makes the graph for it). */
  detectorSize: number;
  /** Anchors of `detector` at that size, K×4. */
  anchors: Float32Array;
  landmarker: InferSession;
  classifier: InferSession;
  labels: readonly ExpressionLabel[];
  /** The classifier's gray input side. */
  inputSize: number;
  /** Class-prior correction: probabilities are multiplied by these weights and renormalised (classPrior.ts reweightProbs). */
  classWeights?: Float32Array;
  template: AlignTemplate;
}

/** 'float32': the exported weights as they are; 'int8': 8-bit convolutions (ssdInt8.ts), ~2.5× faster on CPU. */
export type DetectorPrecision = 'float32' | 'int8';

/**
 * The detector graph and anchors for `size` from the bundled 512 graph and anchors (512 float32: unchanged,
 * bit for bit face-api's detector).
 */
export function detectorModel(model512: Uint8Array, anchors512: Float32Array, size: number, precision: DetectorPrecision = 'float32'): { model: Uint8Array; anchors: Float32Array } {
  const anchors = size === SSD_EXPORT_SIZE ? anchors512 : ssdAnchors(size);
  if (precision === 'int8') return { model: quantizeSsd(ssdModelForSize(model512, size)), anchors };
  return { model: size === SSD_EXPORT_SIZE ? model512 : ssdModelForSize(model512, size), anchors };
}

export function softmax(z: ArrayLike<number>): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i] ?? 0);
  const e = Float32Array.from({ length: z.length }, (_, i) => Math.exp((z[i] ?? 0) - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** A result face from a box, its landmarks and its probabilities (labels in the card's order). */
export function toFace(labels: readonly ExpressionLabel[], box: FaceDetection, landmarks: Point[], probs: ArrayLike<number>): Face {
  const expressions: Partial<Record<ExpressionLabel, number>> = {};
  let best = 0;
  labels.forEach((l, i) => {
    expressions[l] = probs[i] ?? 0;
    if ((probs[i] ?? 0) > (probs[best] ?? 0)) best = i;
  });
  const label = labels[best];
  if (label === undefined) throw new ExpnetError('BAD_MODEL', 'toFace: the expression model has no labels');
  const { x, y, width, height } = box;
  return { box: { x, y, width, height }, score: box.score, landmarks, expressions, label, confidence: probs[best] ?? 0 };
}

/** Face boxes from the detector's [1, K, 5] output (ty, tx, th, tw, score per anchor). */
export function ssdDetections(out: Float32Array, anchors: Float32Array, reshaped: { width: number; height: number }, image: { width: number; height: number }, size: number, options: SsdFaceOptions = {}): FaceDetection[] {
  const min = options.minConfidence ?? SSD_FACE_DEFAULTS.minConfidence;
  const keep: number[] = [];
  for (let i = 4; i < out.length; i += 5) if ((out[i] ?? 0) > min) keep.push((i - 4) / 5);
  const enc = new Float32Array(4 * keep.length);
  const anc = new Float32Array(4 * keep.length);
  const scores = new Float32Array(keep.length);
  keep.forEach((a, k) => {
    enc.set(out.subarray(5 * a, 5 * a + 4), 4 * k);
    anc.set(anchors.subarray(4 * a, 4 * a + 4), 4 * k);
    scores[k] = out[5 * a + 4] ?? 0;
  });
  return decodeSsdFaces(decodeSsdBoxes(enc, anc), scores, reshaped, image, size, options);
}

/** Classifier probabilities for gray size×size crops, one batch. */
export async function classifyCrops(nets: Pick<PipelineNets, 'classifier' | 'labels' | 'inputSize' | 'classWeights'>, crops: readonly Float32Array[]): Promise<Float32Array[]> {
  if (crops.length === 0) return [];
  const per = nets.inputSize * nets.inputSize;
  const batch = crops.length === 1 && crops[0]?.length === per ? crops[0] : new Float32Array(crops.length * per);
  if (batch !== crops[0]) crops.forEach((c, k) => batch.set(c, k * per));
  const logits = (await nets.classifier.runFloat32({ data: batch, shape: [crops.length, 1, nets.inputSize, nets.inputSize] })).data as Float32Array;
  const k = nets.labels.length;
  const w = nets.classWeights;
  return crops.map((_, i) => {
    const p = softmax(logits.subarray(i * k, (i + 1) * k));
    return w ? reweightProbs(p, w) : p;
  });
}

/** 68 landmarks in image pixels for each box (one landmark-net batch); boxes outside the image are dropped. */
async function landmarks(nets: PipelineNets, img: RgbPixels, boxes: readonly FaceDetection[]): Promise<{ box: FaceDetection; marks: Point[] }[]> {
  const kept = boxes.map((box) => ({ box, r: clipRegion(box, img.width, img.height) })).filter((f): f is { box: FaceDetection; r: Region } => f.r !== null);
  if (kept.length === 0) return [];
  const per = 3 * LANDMARKS_INPUT * LANDMARKS_INPUT;
  const batch = new Float32Array(kept.length * per);
  kept.forEach((f, k) => batch.set(squareInput(img, LANDMARKS_INPUT, true, f.r).data, k * per));
  const raw = (await nets.landmarker.runFloat32({ data: batch, shape: [kept.length, 3, LANDMARKS_INPUT, LANDMARKS_INPUT] })).data as Float32Array;
  return kept.map((f, k) => ({
    box: f.box,
    marks: landmarksToCrop(raw.subarray(k * 136, (k + 1) * 136), f.r.width, f.r.height, LANDMARKS_INPUT).map((p) => ({ x: p.x + f.box.x, y: p.y + f.box.y })),
  }));
}

/** What `detectFaces` takes: the detector's decoding options and the close-up second look. */
export interface DetectOptions extends SsdFaceOptions {
  /**
   * When the detector finds no face, look again at the photo inside a gray border of this × its longer side
   * (a face that fills the frame is found only with context around it); 0 = no second look. Default 0.5.
   */
  closeUpPad?: number;
}

/** Default border of the close-up second look: half the photo's side (38 of the 40 face crops of face-photos vs 28 without). */
export const DEFAULT_CLOSE_UP_PAD = 0.5;
/** The padded photo's longer side is shrunk to at most this many pixels (the detector sees 384 of them anyway). */
const CLOSE_UP_MAX_SIDE = 1024;

/** Boxes and landmarks of one look at `img`. */
async function locate(nets: PipelineNets, img: RgbPixels, options: SsdFaceOptions): Promise<{ box: FaceDetection; marks: Point[] }[]> {
  const size = nets.detectorSize;
  const { data, reshaped } = squareInput(img, size, false);
  const out = (await nets.detector.runFloat32({ data, shape: [1, 3, size, size] })).data as Float32Array;
  return landmarks(nets, img, ssdDetections(out, nets.anchors, reshaped, img, size, options));
}

/** Every face of one image (none: an empty list); a photo with no face found gets a padded second look. */
export async function detectFaces(nets: PipelineNets, img: RgbPixels, options: DetectOptions = {}): Promise<Face[]> {
  const { closeUpPad = DEFAULT_CLOSE_UP_PAD, ...ssd } = options;
  if (!(closeUpPad >= 0)) throw new ExpnetError('BAD_CONFIG', `detector options: closeUpPad must be a number ≥ 0, got ${String(closeUpPad)}`);
  let found = await locate(nets, img, ssd);
  if (found.length === 0 && closeUpPad > 0) {
    const p = paddedImage(img, closeUpPad, CLOSE_UP_MAX_SIDE);
    found = (await locate(nets, p.img, ssd))
      .map((f) => ({ box: unpadBox(p, f.box, img.width, img.height), marks: f.marks.map((q) => unpadPoint(p, q)) }))
      .filter((f) => f.box.width >= 2 && f.box.height >= 2);
  }
  return classified(nets, img, found);
}

/** Landmarks, alignment and expressions of the faces at `boxes` (no detector run: boxes tracked from an earlier frame). */
export async function facesAtBoxes(nets: PipelineNets, img: RgbPixels, boxes: readonly FaceDetection[]): Promise<Face[]> {
  return classified(nets, img, await landmarks(nets, img, boxes));
}

async function classified(nets: PipelineNets, img: RgbPixels, found: readonly { box: FaceDetection; marks: Point[] }[]): Promise<Face[]> {
  const probs = await classifyCrops(nets, found.map((f) => alignedGrayCrop(img, f.marks, nets.inputSize, nets.template)));
  return found.map((f, i) => toFace(nets.labels, f.box, f.marks, probs[i] ?? new Float32Array()));
}
