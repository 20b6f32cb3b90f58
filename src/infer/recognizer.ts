/**
 * The Recognizer: detect → landmarks → align → classify every face of a photo, on ONNX Runtime only (no
 * libtorch at inference). Sessions are created once and reused; faces of a call are classified in one batch.
 */
import { decodeSsdBoxes, decodeSsdFaces, type SsdFaceOptions } from '../faces/decodeSsdFaces.js';
import type { FaceDetection } from '../faces/box.js';
import { landmarksToCrop, type Point } from '../faces/landmarks.js';
import sharp from 'sharp';
import { alignedGrayCrop } from './alignCrop.js';
import { loadBundle, type ModelBundle } from './modelBundle.js';
import { cropRgb, DEFAULT_MAX_PIXELS, describeInput, readRgb, squareInput, type ImageInput, type RgbPixels } from './readImage.js';
import { createSession, type InferSession, type SessionOptions } from './session.js';

export interface RecognizerOptions {
  /** Folder with the ONNX models and the expression model's card (default: the bundled `models/`). */
  modelDir?: string;
  /** Expression model base name in modelDir (default: the bundle's default). */
  expressionModel?: string;
  detector?: SsdFaceOptions;
  /** Refuse images with more pixels than this (default 40 M). */
  maxPixels?: number;
  session?: SessionOptions;
}

export interface Face {
  /** In pixels of the (EXIF-rotated) image. */
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** 68 points (iBUG order) in image pixels; empty for --crops inputs. */
  landmarks: Point[];
  /** Probability per label, in the model card's label order. */
  expressions: Record<string, number>;
  label: string;
  confidence: number;
}

export interface ImageResult {
  input: string;
  width: number;
  height: number;
  faces: Face[];
}

const SSD_INPUT = 512;
const LANDMARKS_INPUT = 112;

export class Recognizer {
  private constructor(
    readonly bundle: ModelBundle,
    private readonly detector: InferSession,
    private readonly landmarker: InferSession,
    private readonly classifier: InferSession,
    private readonly options: RecognizerOptions,
  ) {}

  static async create(options: RecognizerOptions = {}): Promise<Recognizer> {
    const bundle = loadBundle(options.modelDir, options.expressionModel);
    const s = options.session ?? {};
    const [d, l, c] = await Promise.all([createSession(bundle.detector, s), createSession(bundle.landmarks, s), createSession(bundle.expression, s)]);
    return new Recognizer(bundle, d, l, c, options);
  }

  get labels(): readonly string[] {
    return this.bundle.card.labels;
  }

  async #detect(img: RgbPixels): Promise<FaceDetection[]> {
    const { data, reshaped } = await squareInput(img, SSD_INPUT, false);
    const out = await this.detector.runFloat32({ data, shape: [1, 3, SSD_INPUT, SSD_INPUT] });
    const all = out.data as Float32Array;
    const n = all.length / 5;
    const enc = new Float32Array(n * 4);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      enc.set(all.subarray(5 * i, 5 * i + 4), 4 * i);
      scores[i] = all[5 * i + 4] ?? 0;
    }
    return decodeSsdFaces(decodeSsdBoxes(enc, this.bundle.anchors), scores, reshaped, img, SSD_INPUT, this.options.detector ?? {});
  }

  async #landmarks(img: RgbPixels, boxes: readonly FaceDetection[]): Promise<(Point[] | null)[]> {
    const crops = boxes.map((b) => cropRgb(img, b));
    const inputs = await Promise.all(crops.map((c) => (c ? squareInput(c.crop, LANDMARKS_INPUT, true) : null)));
    const ok = inputs.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
    if (ok.length === 0) return boxes.map(() => null);
    const per = 3 * LANDMARKS_INPUT * LANDMARKS_INPUT;
    const batch = new Float32Array(ok.length * per);
    ok.forEach((i, k) => batch.set((inputs[i] as { data: Float32Array }).data, k * per));
    const raw = (await this.landmarker.runFloat32({ data: batch, shape: [ok.length, 3, LANDMARKS_INPUT, LANDMARKS_INPUT] })).data as Float32Array;
    const out: (Point[] | null)[] = boxes.map(() => null);
    ok.forEach((i, k) => {
      const c = crops[i];
      const box = boxes[i];
      if (!c || !box) return;
      out[i] = landmarksToCrop(raw.subarray(k * 136, (k + 1) * 136), c.crop.width, c.crop.height).map((p) => ({ x: p.x + box.x, y: p.y + box.y }));
    });
    return out;
  }

  /** Expression probabilities for gray face crops (each size×size in [0, 1]). */
  async classify(crops: readonly Float32Array[]): Promise<Float32Array[]> {
    if (crops.length === 0) return [];
    const size = this.bundle.card.input.size;
    const per = size * size;
    const batch = new Float32Array(crops.length * per);
    crops.forEach((c, k) => batch.set(c, k * per));
    const logits = (await this.classifier.runFloat32({ data: batch, shape: [crops.length, 1, size, size] })).data as Float32Array;
    const k = this.labels.length;
    return crops.map((_, i) => softmax(logits.subarray(i * k, (i + 1) * k)));
  }

  #face(box: FaceDetection, landmarks: Point[], probs: Float32Array): Face {
    const expressions: Record<string, number> = {};
    let best = 0;
    this.labels.forEach((l, i) => {
      expressions[l] = probs[i] ?? 0;
      if ((probs[i] ?? 0) > (probs[best] ?? 0)) best = i;
    });
    const { x, y, width, height } = box;
    return { box: { x, y, width, height }, score: box.score, landmarks, expressions, label: this.labels[best] ?? '', confidence: probs[best] ?? 0 };
  }

  /** Every face of one image (no face: an empty list, not an error). */
  async detect(input: ImageInput): Promise<ImageResult> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS);
    const boxes = await this.#detect(img);
    const marks = await this.#landmarks(img, boxes);
    const kept = boxes.map((b, i) => ({ b, m: marks[i] })).filter((f): f is { b: FaceDetection; m: Point[] } => f.m !== null && f.m !== undefined);
    const size = this.bundle.card.input.size;
    const probs = await this.classify(kept.map((f) => alignedGrayCrop(img, f.m, size, this.bundle.template)));
    return { input: describeInput(input), width: img.width, height: img.height, faces: kept.map((f, i) => this.#face(f.b, f.m, probs[i] ?? new Float32Array())) };
  }

  /** The whole image is one face crop (FER2013 / CK+ style): no detection, no alignment. */
  async classifyCrop(input: ImageInput): Promise<ImageResult> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS);
    const [p] = await this.classify([await grayResized(img, this.bundle.card.input.size)]);
    const box = { x: 0, y: 0, width: img.width, height: img.height, score: 1 };
    return { input: describeInput(input), width: img.width, height: img.height, faces: [this.#face(box, [], p ?? new Float32Array())] };
  }

  /** Several images; each result is independent (a failed image throws, naming it). */
  async detectBatch(inputs: readonly ImageInput[]): Promise<ImageResult[]> {
    const out: ImageResult[] = [];
    for (const input of inputs) out.push(await this.detect(input));
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.landmarker.dispose(), this.classifier.dispose()]);
  }
}

/** The same preprocessing as training (src/data/decode.ts): luminance, resized to size×size, in [0, 1]. */
async function grayResized(img: RgbPixels, size: number): Promise<Float32Array> {
  const raw = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .grayscale()
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer();
  return Float32Array.from(raw.subarray(0, size * size), (v) => v / 255);
}

function softmax(z: ArrayLike<number>): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i] ?? 0);
  const e = Float32Array.from({ length: z.length }, (_, i) => Math.exp((z[i] ?? 0) - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** `createRecognizer(options?)`: the library entry point. */
export function createRecognizer(options: RecognizerOptions = {}): Promise<Recognizer> {
  return Recognizer.create(options);
}
