/**
 * The Recognizer's pipeline in the browser: the same ONNX files and the same decoding code as
 * src/infer/recognizer.ts (SSD → 68 landmarks → aligned 48×48 gray crop → expression net), on onnxruntime-web
 * (WebGPU when the browser has an adapter, else wasm). Nothing leaves the page.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { decodeSsdBoxes, decodeSsdFaces } from '../../src/faces/decodeSsdFaces.js';
import { landmarksToCrop, type Point } from '../../src/faces/landmarks.js';
import { alignedGrayCrop, FER_CROP_TEMPLATE } from '../../src/infer/alignCrop.js';
import type { BundledCard } from '../../src/infer/modelBundle.js';
import { InferSession } from '../../src/infer/ortSession.js';
import { clipRegion, framePixels, squareInput, type Source } from './pixels.js';

export interface WebFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks: Point[];
  expressions: Record<string, number>;
  label: string;
  confidence: number;
}

export interface WebRecognizerOptions {
  /** Base URL of the model files (default `models/` next to the page). */
  modelBase?: string;
  /** Base URL of the onnxruntime-web .wasm/.mjs files (default `ort/` next to the page). */
  wasmBase?: string;
  /** 'auto' (WebGPU when an adapter is found), 'webgpu' or 'wasm'. */
  backend?: 'auto' | 'webgpu' | 'wasm';
  minConfidence?: number;
  onProgress?: (message: string) => void;
}

const SSD_INPUT = 512;
const LANDMARKS_INPUT = 112;

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

function softmax(z: ArrayLike<number>): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i] ?? 0);
  const e = Float32Array.from({ length: z.length }, (_, i) => Math.exp((z[i] ?? 0) - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export class WebRecognizer {
  private constructor(
    readonly card: BundledCard,
    readonly backend: 'webgpu' | 'wasm',
    private readonly anchors: Float32Array,
    private readonly detector: InferSession,
    private readonly landmarker: InferSession,
    private readonly classifier: InferSession,
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
    const card = (await (await fetch(`${base}expnet-fer2013.json`)).json()) as BundledCard;
    const [anchorBytes, det, lm, cls] = await Promise.all(
      ['ssd_mobilenetv1.anchors.bin', 'ssd_mobilenetv1.onnx', 'face_landmark_68.onnx', 'expnet-fer2013.onnx'].map((f) => fetchBytes(base + f)),
    );
    const anchors = new Float32Array(anchorBytes!.buffer.slice(anchorBytes!.byteOffset, anchorBytes!.byteOffset + anchorBytes!.byteLength));
    say(`starting ONNX Runtime Web (${backend})…`);
    const opts = { intraOpThreads: ort.env.wasm.numThreads, interOpThreads: 1, graphOptimization: 'all', executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'] } as const;
    const [d, l, c] = await Promise.all([det!, lm!, cls!].map((m) => InferSession.open(ort, m, opts)));
    return new WebRecognizer(card, backend, anchors, d!, l!, c!, options.minConfidence ?? 0.5);
  }

  get labels(): readonly string[] {
    return this.card.labels;
  }

  /** Every face of one frame (an image, a video or a canvas), in its pixels. */
  async detect(src: Source, width: number, height: number): Promise<WebFace[]> {
    const full = { x: 0, y: 0, width, height };
    const { data, reshaped } = squareInput(src, full, SSD_INPUT, false);
    const all = (await this.detector.runFloat32({ data, shape: [1, 3, SSD_INPUT, SSD_INPUT] })).data as Float32Array;
    const n = all.length / 5;
    const enc = new Float32Array(n * 4);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      enc.set(all.subarray(5 * i, 5 * i + 4), 4 * i);
      scores[i] = all[5 * i + 4] ?? 0;
    }
    const boxes = decodeSsdFaces(decodeSsdBoxes(enc, this.anchors), scores, reshaped, full, SSD_INPUT, { minConfidence: this.minConfidence });
    const kept = boxes.map((b) => ({ b, r: clipRegion(b, width, height) })).filter((f) => f.r !== null);
    if (kept.length === 0) return [];
    const per = 3 * LANDMARKS_INPUT * LANDMARKS_INPUT;
    const batch = new Float32Array(kept.length * per);
    kept.forEach((f, k) => batch.set(squareInput(src, f.r!, LANDMARKS_INPUT, true).data, k * per));
    const raw = (await this.landmarker.runFloat32({ data: batch, shape: [kept.length, 3, LANDMARKS_INPUT, LANDMARKS_INPUT] })).data as Float32Array;
    const marks = kept.map((f, k) => landmarksToCrop(raw.subarray(k * 136, (k + 1) * 136), f.r!.width, f.r!.height, LANDMARKS_INPUT).map((p) => ({ x: p.x + f.b.x, y: p.y + f.b.y })));
    const pixels = framePixels(src, width, height);
    const size = this.card.input.size;
    const crops = new Float32Array(kept.length * size * size);
    marks.forEach((m, k) => crops.set(alignedGrayCrop(pixels, m, size, this.card.alignment ?? FER_CROP_TEMPLATE), k * size * size));
    const logits = (await this.classifier.runFloat32({ data: crops, shape: [kept.length, 1, size, size] })).data as Float32Array;
    const nl = this.labels.length;
    return kept.map((f, k) => {
      const probs = softmax(logits.subarray(k * nl, (k + 1) * nl));
      const expressions: Record<string, number> = {};
      let best = 0;
      this.labels.forEach((label, i) => {
        expressions[label] = probs[i] ?? 0;
        if ((probs[i] ?? 0) > (probs[best] ?? 0)) best = i;
      });
      const { x, y, width: w, height: h } = f.b;
      return { box: { x, y, width: w, height: h }, score: f.b.score, landmarks: marks[k] ?? [], expressions, label: this.labels[best] ?? '', confidence: probs[best] ?? 0 };
    });
  }

  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.landmarker.dispose(), this.classifier.dispose()]);
  }
}
