/**
 * The Recognizer: detect → landmarks → align → classify every face of a photo, on ONNX Runtime only (no
 * libtorch at inference). Sessions are created once and reused; faces of a call are classified in one batch.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { ExpressionLabel } from '../data/labels.js';
import { ExpnetError } from '../errors.js';
import { uniformPriorWeights } from './classPrior.js';
import { classifyCrops, DEFAULT_DETECTOR_PRECISION, DEFAULT_DETECTOR_SIZE, detectFaces, detectorModel, facesAtBoxes, toFace, type DetectOptions, type DetectorPrecision, type Face, type PipelineNets } from './facePipeline.js';
import { loadBundle, type ModelBundle } from './modelBundle.js';
import { DEFAULT_MAX_PIXELS, describeInput, readRgb, type ImageInput, type RgbPixels } from './readImage.js';
import { createSession, type SessionOptions } from './session.js';
import { ssdGrids } from './ssdAnchors.js';
import { VideoRun, type VideoOptions } from './videoRun.js';

export type { Face } from './facePipeline.js';

export interface RecognizerOptions {
  /** Folder with the ONNX models and the expression model's card (default: the bundled `models/`). */
  modelDir?: string;
  /** Expression model base name in modelDir (default: the bundle's default). */
  expressionModel?: string;
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

export interface ImageResult {
  input: string;
  width: number;
  height: number;
  faces: Face[];
}

export class Recognizer {
  private constructor(
    readonly bundle: ModelBundle,
    private readonly nets: PipelineNets,
    private readonly precision: DetectorPrecision,
    private readonly options: RecognizerOptions,
  ) {}

  static async create(options: RecognizerOptions = {}): Promise<Recognizer> {
    const bundle = loadBundle(options.modelDir, options.expressionModel);
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
  get labels(): readonly ExpressionLabel[] {
    return this.bundle.labels;
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
  async detect(input: ImageInput): Promise<ImageResult> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS, { anyFormat: this.options.anyFormat ?? false });
    return { input: describeInput(input), width: img.width, height: img.height, faces: await detectFaces(this.nets, img, this.options.detector ?? {}) };
  }

  /** Every face of decoded RGB pixels (a video frame, a canvas): the same pipeline, no decoding. */
  detectPixels(img: RgbPixels): Promise<Face[]> {
    return detectFaces(this.nets, img, this.options.detector ?? {});
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
  async classifyCrop(input: ImageInput): Promise<ImageResult> {
    const img = await readRgb(input, this.options.maxPixels ?? DEFAULT_MAX_PIXELS, { anyFormat: this.options.anyFormat ?? false });
    const [p] = await this.classify([await grayResized(img, this.bundle.card.input.size)]);
    const box = { x: 0, y: 0, width: img.width, height: img.height, score: 1 };
    return { input: describeInput(input), width: img.width, height: img.height, faces: [toFace(this.labels, box, [], p ?? new Float32Array())] };
  }

  /** Several images; each result is independent (a failed image throws, naming it). */
  async detectBatch(inputs: readonly ImageInput[]): Promise<ImageResult[]> {
    const out: ImageResult[] = [];
    for (const input of inputs) out.push(await this.detect(input));
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

/** `createRecognizer(options?)`: the library entry point. */
export function createRecognizer(options: RecognizerOptions = {}): Promise<Recognizer> {
  return Recognizer.create(options);
}
