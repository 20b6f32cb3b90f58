/**
 * The Recognizer: detect → landmarks → align → classify every face of a photo, on ONNX Runtime only (no
 * libtorch at inference). Sessions are created once and reused; faces of a call are classified in one batch.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { ExpressionLabel } from '../data/labels.js';
import { ExpnetError } from '../errors.js';
import { uniformPriorWeights } from './classPrior.js';
import { BUNDLED_EXPRESSION_MODELS, BUNDLED_EXPRESSIONS, type BundledExpression, type BundledExpressionModel } from './bundleFiles.js';
import { classifyCrops, DEFAULT_DETECTOR_PRECISION, DEFAULT_DETECTOR_SIZE, detectFaces, detectorModel, facesAtBoxes, toFace, type DetectOptions, type DetectorPrecision, type Face, type FaceLabel, type PipelineNets } from './facePipeline.js';
import { DEFAULT_EXPRESSION_MODEL, loadBundle, type ModelBundle } from './modelBundle.js';
import { DEFAULT_MAX_PIXELS, describeInput, readRgb, type ImageInput, type RgbPixels } from './readImage.js';
import { createSession, type SessionOptions } from './session.js';
import { ssdGrids } from './ssdAnchors.js';
import { VideoRun, type VideoOptions } from './videoRun.js';

export type { Expressions, Face, FaceLabel } from './facePipeline.js';

export interface RecognizerOptions {
  /** Folder with the ONNX models and the expression model's card (default: the bundled `models/`). */
  modelDir?: string;
  /** Expression model base name in modelDir (default: the bundle's default). */
  expressionModel?: string;
  /**
   * The labels the expression model must have (any order), checked when the Recognizer is created: results are
   * then typed by them (`createRecognizer({ expressionModel, labels: ['happy', 'sadness'] })` →
   * `f.expressions.happy: number`). Not needed for the bundled models (typed BundledExpression).
   */
  labels?: readonly ExpressionLabel[];
  /** Detector thresholds and the close-up second look (closeUpPad: 0 turns it off). */
  detector?: DetectOptions;
  /**
   * The detector's square input side, a multiple of 32 (default 384; 512 = face-api.js's own size, for small
   * faces in large photos). The bundled 512 graph is rewritten for it when the Recognizer is created.
   */
  detectorSize?: number;
  /**
   * The detector's arithmetic: 'int8' (8-bit convolutions, ~2.5× faster) or 'float32' (the exported weights as
   * they are). Default: 'int8' at the default detectorSize (checked against face-api on the real photos),
   * 'float32' when detectorSize is given (at 512 int8 loses faces that float32 finds).
   */
  detectorPrecision?: DetectorPrecision;
  /**
   * The class prior of the photos: 'train' (default) = the probabilities as the model was trained (its training
   * set's class balance); 'uniform' = divided by the class prior the model learnt (card.classPrior: the training
   * frequencies, softened by a class-balanced loss) and renormalised, for photos of unknown class balance.
   */
  prior?: ClassPrior;
  /** Refuse images with more pixels than this (default 40 M). */
  maxPixels?: number;
  /** Decode any format sharp opens, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted inputs only; default false). */
  anyFormat?: boolean;
  session?: SessionOptions;
}

export interface ImageResult<L extends string = string> {
  input: string;
  width: number;
  height: number;
  faces: Face<L>[];
}

/** One input of detectBatch: its result, or (`error` set, no faces) why that input failed. */
export type BatchResult<L extends string = string> = (ImageResult<L> & { error?: undefined }) | { input: string; error: ExpnetError };

export interface BatchOptions {
  /**
   * false (default): an input that fails as input (missing, unreadable, not an image, too large: an ExpnetError)
   * becomes its own `{ input, error }` item and the others are still recognised; true: the first such failure
   * rejects the whole batch. Other errors (a failing ONNX session) always reject.
   */
  failFast?: boolean;
}

/**
 * `L`: the expression model's labels as far as the types know them (BundledExpression for the bundled models,
 * the `labels` option's, else `string`: any subset of the expressions); see Expressions in facePipeline.ts.
 */
export class Recognizer<L extends string = string> {
  private constructor(
    readonly bundle: ModelBundle,
    private readonly nets: PipelineNets,
    private readonly precision: DetectorPrecision,
    private readonly options: RecognizerOptions,
  ) {}

  static async create(options: RecognizerOptions = {}): Promise<Recognizer> {
    const bundle = loadBundle(options.modelDir, options.expressionModel);
    checkLabels(bundle, options);
    const size = options.detectorSize ?? DEFAULT_DETECTOR_SIZE;
    try {
      ssdGrids(size);
    } catch (err) {
      throw new ExpnetError('BAD_CONFIG', `recognizer options: detectorSize ${(err as Error).message.replace(/^SSD input size: /, '')}`, { cause: err });
    }
    const pad = options.detector?.closeUpPad;
    if (pad !== undefined && !(pad >= 0 && pad <= 4)) throw new ExpnetError('BAD_CONFIG', `recognizer options: detector.closeUpPad must be in [0, 4], got ${String(pad)}`);
    const precision = options.detectorPrecision ?? (options.detectorSize === undefined ? DEFAULT_DETECTOR_PRECISION : 'float32');
    if (precision !== 'float32' && precision !== 'int8') throw new ExpnetError('BAD_CONFIG', `recognizer options: detectorPrecision must be 'float32' or 'int8', got '${String(precision)}'`);
    const det = detectorModel(new Uint8Array(readFileSync(bundle.detector)), bundle.anchors, size, precision);
    const s = options.session ?? {};
    const [detector, landmarker, classifier] = await Promise.all([createSession(det.model, s), createSession(bundle.landmarks, s), createSession(bundle.expression, s)]);
    const nets: PipelineNets = {
      detector, detectorSize: size, anchors: det.anchors, landmarker, classifier,
      labels: bundle.labels, inputSize: bundle.card.input.size, template: bundle.template,
      ...priorWeights(options.prior, bundle),
    };
    return new Recognizer(bundle, nets, precision, options);
  }

  /** The expression model's labels, in its output order. */
  get labels(): readonly FaceLabel<L>[] {
    return this.bundle.labels as readonly ExpressionLabel[] as readonly FaceLabel<L>[];
  }

  /** The pipeline's faces are Face<string>; their labels are the card's, which are L (checked in create). */
  private typed(faces: Face[]): Face<L>[] {
    return faces as unknown as Face<L>[];
  }

  /** The detector's square input side in use. */
  get detectorSize(): number {
    return this.nets.detectorSize;
  }

  /** The detector's arithmetic in use. */
  get detectorPrecision(): DetectorPrecision {
    return this.precision;
  }

  /** Expression probabilities for gray face crops (each size×size in [0, 1]), one batch. */
  classify(crops: readonly Float32Array[]): Promise<Float32Array[]> {
    return classifyCrops(this.nets, crops);
  }

  /** Every face of one image (no face: an empty list, not an error). */
  async detect(input: ImageInput): Promise<ImageResult<L>> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS, { anyFormat: this.options.anyFormat ?? false });
    return { input: describeInput(input), width: img.width, height: img.height, faces: this.typed(await detectFaces(this.nets, img, this.options.detector ?? {})) };
  }

  /** Every face of decoded RGB pixels (a video frame, a canvas): the same pipeline, no decoding. */
  async detectPixels(img: RgbPixels): Promise<Face<L>[]> {
    return this.typed(await detectFaces(this.nets, img, this.options.detector ?? {}));
  }

  /**
   * A video file or stream (anything Debian's ffmpeg reads): `for await (const frame of rec.video(path))` gives
   * every sampled frame's faces with track ids and smoothed probabilities; `.summary()` the per-track totals.
   * `detectEvery: k` runs the detector on every k-th frame only and follows the faces in between (default 1).
   */
  video(file: string, options: VideoOptions = {}): VideoRun {
    return new VideoRun(file, { detect: (img) => this.detectPixels(img), facesAt: (img, boxes) => facesAtBoxes(this.nets, img, boxes) }, options);
  }

  /** The whole image is one face crop (FER2013 / CK+ style): no detection, no alignment. */
  async classifyCrop(input: ImageInput): Promise<ImageResult<L>> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS, { anyFormat: this.options.anyFormat ?? false });
    const [p] = await this.classify([await grayResized(img, this.bundle.card.input.size)]);
    const box = { x: 0, y: 0, width: img.width, height: img.height, score: 1 };
    return { input: describeInput(input), width: img.width, height: img.height, faces: this.typed([toFace(this.bundle.labels, box, [], p ?? new Float32Array())]) };
  }

  /**
   * Several images, one result per input in their order. By default one that fails (a missing file, not an
   * image) is an `{ input, error }` item and the others are still recognised: `if (r.error) … else r.faces`.
   * `failFast: true` rejects on the first failure instead (see BatchOptions).
   */
  async detectBatch(inputs: readonly ImageInput[], options: BatchOptions = {}): Promise<BatchResult<L>[]> {
    const out: BatchResult<L>[] = [];
    for (const input of inputs) {
      try {
        out.push(await this.detect(input));
      } catch (err) {
        if (options.failFast === true || !(err instanceof ExpnetError)) throw err;
        out.push({ input: describeInput(input), error: err });
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.nets.detector.dispose(), this.nets.landmarker.dispose(), this.nets.classifier.dispose()]);
  }
}

export type ClassPrior = 'train' | 'uniform';
export const CLASS_PRIORS: readonly ClassPrior[] = ['train', 'uniform'];

/** The pipeline's class weights for `prior` (none for 'train'). */
function priorWeights(prior: ClassPrior | undefined, bundle: ModelBundle): { classWeights?: Float32Array } {
  if (prior === undefined || prior === 'train') return {};
  if (prior !== 'uniform') throw new ExpnetError('BAD_CONFIG', `recognizer options: prior must be ${CLASS_PRIORS.join(' or ')}, got '${String(prior)}'`);
  const f = bundle.card.classPrior;
  if (!f || f.length !== bundle.card.labels.length)
    throw new ExpnetError('BAD_MODEL', `${bundle.expression}: prior 'uniform' needs the class prior the model learnt in its card (classPrior, one per label); this card has none (a model trained before it was recorded)`);
  return { classWeights: uniformPriorWeights(f) };
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

/**
 * The `labels` option against the card; a bundled model's card against BUNDLED_EXPRESSIONS (what the types of
 * createRecognizer() promise): a mismatch is an error, never a result typed by labels the model does not have.
 */
function checkLabels(bundle: ModelBundle, options: RecognizerOptions): void {
  const name = options.expressionModel ?? DEFAULT_EXPRESSION_MODEL;
  const bundled = options.modelDir === undefined && (BUNDLED_EXPRESSION_MODELS as readonly string[]).includes(name);
  const want: readonly string[] | undefined = options.labels ?? (bundled ? BUNDLED_EXPRESSIONS : undefined);
  if (want === undefined) return;
  const have = bundle.labels;
  if (want.length !== have.length || !want.every((l) => have.includes(l as ExpressionLabel))) {
    const what = options.labels ? 'recognizer options: labels' : `the bundled model's expected labels`;
    throw new ExpnetError(options.labels ? 'BAD_CONFIG' : 'BAD_MODEL', `${what} [${want.join(', ')}] are not the labels of expression model ${bundle.expression} [${have.join(', ')}]`);
  }
}

/** Options naming a bundled expression model (or none: the default), with no other label promise. */
export type BundledRecognizerOptions = RecognizerOptions & { modelDir?: undefined; expressionModel?: BundledExpressionModel; labels?: undefined };

/**
 * `createRecognizer(options?)`: the library entry point. Results are typed by the model's labels: the bundled
 * models' (BundledExpression: `f.expressions.happy` is a number, there is no contempt), the `labels` given
 * (checked against the card), else any subset of the expressions (`Recognizer<string>`).
 */
export function createRecognizer(options?: BundledRecognizerOptions): Promise<Recognizer<BundledExpression>>;
export function createRecognizer<const L extends ExpressionLabel>(options: RecognizerOptions & { labels: readonly L[] }): Promise<Recognizer<L>>;
export function createRecognizer(options?: RecognizerOptions): Promise<Recognizer>;
export function createRecognizer(options: RecognizerOptions = {}): Promise<Recognizer> {
  return Recognizer.create(options);
}
