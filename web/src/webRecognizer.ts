/**
 * The Recognizer's pipeline in the browser: the same ONNX files and the same decoding code as
 * src/infer/recognizer.ts (SSD → 68 landmarks → aligned 48×48 gray crop → expression net), on onnxruntime-web
 * (WebGPU when the browser has an adapter, else wasm). Nothing leaves the page.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { DEFAULT_DETECTOR_SIZE, detectFaces, detectorModel, type Face, type PipelineNets } from '../../src/infer/facePipeline.js';
import { modelLabels, type ExpressionLabel } from '../../src/data/labels.js';
import { FER_CROP_TEMPLATE } from '../../src/infer/alignCrop.js';
import type { BundledCard } from '../../src/infer/modelBundle.js';
import { ANCHORS_FILE, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE } from '../../src/infer/bundleFiles.js';
import { InferSession } from '../../src/infer/ortSession.js';
import { framePixels, type Source } from './pixels.js';

/** A face found in a frame: the Node Recognizer's Face (same pipeline code, src/infer/facePipeline.ts). */
export type WebFace = Face;

export interface WebRecognizerOptions {
  /** Base URL of the model files (default `models/` next to the page). */
  modelBase?: string;
  /** Base URL of the onnxruntime-web .wasm/.mjs files (default `ort/` next to the page). */
  wasmBase?: string;
  /** 'auto' (WebGPU when an adapter is found), 'webgpu' or 'wasm'. */
  backend?: 'auto' | 'webgpu' | 'wasm';
  minConfidence?: number;
  /** The detector's square input side (default as the Node Recognizer; 512 = face-api.js's size). */
  detectorSize?: number;
  onProgress?: (message: string) => void;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
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

export class WebRecognizer {
  private constructor(
    readonly card: BundledCard,
    readonly backend: 'webgpu' | 'wasm',
    private readonly nets: PipelineNets,
    private readonly minConfidence: number,
  ) {}

  static async create(options: WebRecognizerOptions = {}): Promise<WebRecognizer> {
    const base = new URL(options.modelBase ?? 'models/', location.href).href;
    ort.env.wasm.wasmPaths = new URL(options.wasmBase ?? 'ort/', location.href).href;
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const want = options.backend ?? 'auto';
    const backend = want === 'wasm' ? 'wasm' : want === 'webgpu' || (await hasWebGpu()) ? 'webgpu' : 'wasm';
    const say = options.onProgress ?? ((): void => undefined);
    say('loading models…');
    const card = (await (await fetch(`${base}${DEFAULT_EXPRESSION_MODEL}.json`)).json()) as BundledCard;
    const [anchorBytes, det512, lm, cls] = await Promise.all(
      [ANCHORS_FILE, DETECTOR_FILE, LANDMARKS_FILE, `${DEFAULT_EXPRESSION_MODEL}.onnx`].map((f) => fetchBytes(base + f)),
    );
    const anchors512 = new Float32Array(anchorBytes!.buffer.slice(anchorBytes!.byteOffset, anchorBytes!.byteOffset + anchorBytes!.byteLength));
    const size = options.detectorSize ?? DEFAULT_DETECTOR_SIZE;
    // float32: onnxruntime-web's wasm and WebGPU kernels are tuned for float, not for QLinearConv
    const det = detectorModel(det512!, anchors512, size, 'float32');
    say(`starting ONNX Runtime Web (${backend})…`);
    const opts = { intraOpThreads: ort.env.wasm.numThreads, interOpThreads: 1, graphOptimization: 'all', executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'], spinWait: true } as const;
    const [d, l, c] = await Promise.all([det.model, lm!, cls!].map((m) => InferSession.open(ort, m, opts)));
    const nets: PipelineNets = {
      detector: d!, detectorSize: size, anchors: det.anchors, landmarker: l!, classifier: c!,
      labels: modelLabels(card.labels, `${base}${DEFAULT_EXPRESSION_MODEL}.json`), inputSize: card.input.size, template: card.alignment ?? FER_CROP_TEMPLATE,
    };
    return new WebRecognizer(card, backend, nets, options.minConfidence ?? 0.5);
  }

  get labels(): readonly ExpressionLabel[] {
    return this.nets.labels;
  }

  /** Every face of one frame (an image, a video or a canvas), in its pixels. */
  detect(src: Source, width: number, height: number): Promise<WebFace[]> {
    return detectFaces(this.nets, framePixels(src, width, height), { minConfidence: this.minConfidence });
  }

  async dispose(): Promise<void> {
    await Promise.all([this.nets.detector.dispose(), this.nets.landmarker.dispose(), this.nets.classifier.dispose()]);
  }
}
