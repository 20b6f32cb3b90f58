/**
 * The Recognizer's pipeline in the browser: the same ONNX files and the same decoding code as
 * src/infer/recognizer.ts (SSD → 68 landmarks → aligned 48×48 gray crop → expression net), on onnxruntime-web
 * (WebGPU when the browser has an adapter, else wasm). Nothing leaves the page.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { DEFAULT_DETECTOR_PRECISION, DEFAULT_DETECTOR_SIZE, detectFaces, detectorModel, type DetectorPrecision, type Face, type PipelineNets } from '../../src/infer/facePipeline.js';
import { modelLabels, type ExpressionLabel } from '../../src/data/labels.js';
import { ExpnetError } from '../../src/errors.js';
import { FER_CROP_TEMPLATE } from '../../src/infer/alignCrop.js';
import type { BundledCard } from '../../src/infer/modelBundle.js';
import type { ImageResult } from '../../src/infer/recognizer.js';
import { ANCHORS_FILE, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, DETECTOR_INT8_FILE, DETECTOR_INT8_SIZE, LANDMARKS_FILE, MODEL_INDEX_FILE, resolveModelName, type ModelIndex } from '../../src/infer/bundleFiles.js';
import { InferSession } from '../../src/infer/ortSession.js';
import { ssdAnchors } from '../../src/infer/ssdAnchors.js';
import { framePixels, type Source } from './pixels.js';

/** A face found in a frame: the Node Recognizer's Face (same pipeline code, src/infer/facePipeline.ts). */
export type WebFace = Face;
/** What `detect` returns: the Node Recognizer's ImageResult (`input` names the source, e.g. `<HTMLVideoElement 640×480>`). */
export type WebImageResult = ImageResult;

export interface WebRecognizerOptions {
  /** Base URL of the model files (default `models/` next to the page). */
  modelBase?: string;
  /** Base URL of the onnxruntime-web .wasm/.mjs files (default `ort/` next to the page). */
  wasmBase?: string;
  /**
   * The expression model: a name of `modelBase`'s index (`WebRecognizer.models()`; default: the index's default,
   * else DEFAULT_EXPRESSION_MODEL). An unknown name is an ExpnetError listing the available ones.
   */
  expressionModel?: string;
  /** The index of `modelBase` when the page has it already (`WebRecognizer.models()`), so it is not fetched again. */
  index?: ModelIndex;
  /** 'auto' (WebGPU when an adapter is found), 'webgpu' or 'wasm'. */
  backend?: 'auto' | 'webgpu' | 'wasm';
  minConfidence?: number;
  /** The detector's square input side (default as the Node Recognizer; 512 = face-api.js's size). */
  detectorSize?: number;
  /**
   * 'int8' (default at the default detectorSize: the 6 MB DETECTOR_INT8_FILE, as the Node Recognizer's default) or
   * 'float32' (the 22 MB exported graph; the default when detectorSize is given, as in Node).
   */
  detectorPrecision?: DetectorPrecision;
  onProgress?: (message: string) => void;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new ExpnetError('NOT_FOUND', `${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** The detector's graph and anchors: the browser's int8 file at its size, else the float32 512 graph (rewritten for `size`). */
async function loadDetector(base: string, size: number, precision: DetectorPrecision): Promise<{ model: Uint8Array; anchors: Float32Array }> {
  if (precision === 'int8' && size === DETECTOR_INT8_SIZE) return { model: await fetchBytes(base + DETECTOR_INT8_FILE), anchors: ssdAnchors(size) };
  const [det512, anchorBytes] = await Promise.all([fetchBytes(base + DETECTOR_FILE), fetchBytes(base + ANCHORS_FILE)]);
  const anchors512 = new Float32Array(anchorBytes.buffer.slice(anchorBytes.byteOffset, anchorBytes.byteOffset + anchorBytes.byteLength));
  return detectorModel(det512, anchors512, size, precision);
}

/** Describes a frame source for ImageResult.input. */
function describeSource(src: Source, width: number, height: number): string {
  return `<${src.constructor?.name ?? 'image'} ${width}×${height}>`;
}

export class WebRecognizer {
  private constructor(
    /** The expression model's name in the index (its files' base name; the card's own name may differ). */
    readonly expressionModel: string,
    readonly card: BundledCard,
    readonly backend: 'webgpu' | 'wasm',
    /** The detector's arithmetic in use. */
    readonly detectorPrecision: DetectorPrecision,
    private readonly nets: PipelineNets,
    private readonly minConfidence: number,
  ) {}

  /** The expression models served at `modelBase` (its MODEL_INDEX_FILE), the default first. */
  static async models(modelBase = 'models/'): Promise<ModelIndex> {
    const url = new URL(MODEL_INDEX_FILE, new URL(modelBase, location.href)).href;
    const res = await fetch(url);
    if (!res.ok) throw new ExpnetError('NOT_FOUND', `${url}: HTTP ${res.status} (the list of expression models)`);
    return (await res.json()) as ModelIndex;
  }

  static async create(options: WebRecognizerOptions = {}): Promise<WebRecognizer> {
    const base = new URL(options.modelBase ?? 'models/', location.href).href;
    ort.env.wasm.wasmPaths = new URL(options.wasmBase ?? 'ort/', location.href).href;
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const want = options.backend ?? 'auto';
    const backend = want === 'wasm' ? 'wasm' : want === 'webgpu' || (await hasWebGpu()) ? 'webgpu' : 'wasm';
    const say = options.onProgress ?? ((): void => undefined);
    say('loading models…');
    const index = options.index ?? (await WebRecognizer.models(base).catch(() => null));
    const name = resolveModelName(options.expressionModel ?? index?.default ?? DEFAULT_EXPRESSION_MODEL); // 'fast' / 'accurate' name their models
    if (index && !index.models.some((m) => m.name === name)) {
      throw new ExpnetError('BAD_CONFIG', `WebRecognizer: no expression model '${name}' at ${base}; available: ${index.models.map((m) => m.name).join(', ')}`);
    }
    const size = options.detectorSize ?? DEFAULT_DETECTOR_SIZE;
    const precision = options.detectorPrecision ?? (options.detectorSize === undefined ? DEFAULT_DETECTOR_PRECISION : 'float32');
    if (precision !== 'int8' && precision !== 'float32') throw new ExpnetError('BAD_CONFIG', `WebRecognizer: detectorPrecision must be 'int8' or 'float32', got '${String(precision)}'`);
    const cardUrl = `${base}${name}.json`;
    const [cardBytes, det, lm, cls] = await Promise.all([fetchBytes(cardUrl), loadDetector(base, size, precision), fetchBytes(base + LANDMARKS_FILE), fetchBytes(`${base}${name}.onnx`)]);
    const card = JSON.parse(new TextDecoder().decode(cardBytes)) as BundledCard;
    say(`starting ONNX Runtime Web (${backend})…`);
    const opts = { intraOpThreads: ort.env.wasm.numThreads, interOpThreads: 1, graphOptimization: 'all', executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'], spinWait: true } as const;
    const [d, l, c] = await Promise.all([det.model, lm, cls].map((m) => InferSession.open(ort, m, opts)));
    const nets: PipelineNets = {
      detector: d!, detectorSize: size, anchors: det.anchors, landmarker: l!, classifier: c!,
      labels: modelLabels(card.labels, cardUrl), inputSize: card.input.size, template: card.alignment ?? FER_CROP_TEMPLATE,
    };
    return new WebRecognizer(name, card, backend, precision, nets, options.minConfidence ?? 0.5);
  }

  get labels(): readonly ExpressionLabel[] {
    return this.nets.labels;
  }

  /**
   * Every face of one frame (an image, a video or a canvas), in its pixels: the same ImageResult as the Node
   * Recognizer's `detect`. width/height default to the source's own (a video's videoWidth × videoHeight, an
   * image's natural size).
   */
  async detect(src: Source, width?: number, height?: number): Promise<WebImageResult> {
    const el = src as Partial<HTMLVideoElement & HTMLImageElement>;
    const w = width ?? (el.videoWidth || el.naturalWidth || src.width);
    const h = height ?? (el.videoHeight || el.naturalHeight || src.height);
    const faces = await detectFaces(this.nets, framePixels(src, w, h), { minConfidence: this.minConfidence });
    return { input: describeSource(src, w, h), width: w, height: h, faces };
  }

  /** @deprecated the faces alone (what `detect` returned before it gave an ImageResult): use `(await rec.detect(src)).faces`. */
  async detectFaces(src: Source, width?: number, height?: number): Promise<WebFace[]> {
    return (await this.detect(src, width, height)).faces;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.nets.detector.dispose(), this.nets.landmarker.dispose(), this.nets.classifier.dispose()]);
  }
}
