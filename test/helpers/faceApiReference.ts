/**
 * face-api.js as a reference for parity tests (tests only; never imported by library code).
 *
 * Runs `@vladmandic/face-api/dist/face-api.node-wasm.js` on the `@tensorflow/tfjs-backend-wasm` backend (SIMD,
 * single-threaded in Node) with the .wasm binaries read from node_modules (no network), and the weights read
 * from the package's model folder with each net's own `loadFromDisk`. Inputs are fed as tensors, so face-api
 * pads/resizes them with its tensor path (`padToSquare` + `resizeBilinear`), not a canvas.
 * Activations are returned in tfjs layout: shape [1, H, W, C], data row-major NHWC.
 * The nets are loaded once per process (module state is acceptable here: this is a test helper).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import * as tfjs from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { modelDir } from '../../src/formats/tfjs/tfjsManifest.js';

const tf = faceapi.tf;
type Tensor = faceapi.tf.Tensor;
type Tensor4D = faceapi.tf.Tensor4D;
type RecognitionParams = NonNullable<faceapi.FaceRecognitionNet['params']>;
type ConvLayer = RecognitionParams['conv32_down'];
type ResidualLayer = RecognitionParams['conv32_1'];
/** `tf.mean` is missing from face-api's typed `tf` subset; it is the same tfjs instance (checked at start-up). */
const mean = tfjs.mean as unknown as (x: Tensor, axis: number[]) => Tensor;

/** An RGB image, HWC, values 0..255. */
export interface RgbImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
}

/** A tensor copied out of tfjs; shape in tfjs order (NHWC for feature maps). */
export interface Activation {
  shape: number[];
  data: Float32Array;
}

/** A face box in pixels of the input image, as face-api reports it (not clipped). */
export interface Detection {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export const RECOGNITION_LAYERS = [
  'conv32_down', 'pool', 'conv32_1', 'conv32_2', 'conv32_3',
  'conv64_down', 'conv64_1', 'conv64_2', 'conv64_3',
  'conv128_down', 'conv128_1', 'conv128_2',
  'conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out', 'global_avg',
] as const;
export type RecognitionLayer = (typeof RECOGNITION_LAYERS)[number];

export interface RecognitionReference {
  /** face-api's `computeFaceDescriptor` (raw FC output, not L2-normalised). */
  descriptor: number[];
  /** Every block output of a step-by-step replay of face-api's forward on the net's own params. */
  activations: Record<RecognitionLayer, Activation>;
  /** max |replayed descriptor − face-api descriptor|; 0 when the replay is faithful. */
  replayMaxAbsDiff: number;
  /** Milliseconds of `computeFaceDescriptor`. */
  ms: number;
}

export interface DetectReference {
  width: number;
  height: number;
  /** SSD MobileNetV1: `locateFaces` (default minConfidence 0.5, maxResults 100, IoU 0.5) + raw outputs. */
  ssd: {
    detections: Detection[];
    ms: number;
    /** Unless `raw: false`: boxes [5118, 4] (ymin, xmin, ymax, xmax) relative to the 512×512 bottom/right-padded
     * input and sigmoid face scores [5118], both before NMS. */
    raw?: { boxes: Activation; scores: Activation };
  };
  /** Tiny face detector: `locateFaces` (default inputSize 416, scoreThreshold 0.5, IoU 0.4). */
  tiny: {
    detections: Detection[];
    ms: number;
    /** Unless `raw: false`: the conv8 output [1, S, S, 25] (S = inputSize/32; 5 anchors × tx, ty, tw, th, to). */
    raw?: { grid: Activation };
  };
}

export interface LandmarksReference {
  /** 68 points in pixels of the crop (`detectLandmarks().positions`). */
  positions: Array<[number, number]>;
  /** Raw FC output (136 = x0, y0, x1, y1, …) relative to the 112×112 centred-padded input. */
  raw: number[];
  /** Feature-extractor output [1, 1, 1, 256] (after the 7×7 average pool). */
  features: Activation;
  ms: number;
}

export interface ExpressionReference {
  labels: typeof faceapi.FACE_EXPRESSION_LABELS;
  /** Softmax probabilities in `labels` order. */
  probabilities: number[];
  logits: number[];
  features: Activation;
  ms: number;
}

export interface DetectOptions {
  ssdMinConfidence?: number;
  ssdMaxResults?: number;
  tinyInputSize?: number;
  tinyScoreThreshold?: number;
  /** Also run the nets' raw forward passes (default true; costs one more forward per detector). */
  raw?: boolean;
}

interface Nets {
  recognition: faceapi.FaceRecognitionNet;
  ssd: faceapi.SsdMobilenetv1;
  tiny: faceapi.TinyFaceDetector;
  landmarks: faceapi.FaceLandmark68Net;
  expression: faceapi.FaceExpressionNet;
}

let loading: Promise<Nets> | undefined;

/** Folder holding tfjs-backend-wasm's `tfjs-backend-wasm{,-simd,-threaded-simd}.wasm` (with trailing separator). */
export function wasmDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}

/** Switches tfjs to the wasm backend (once) and loads the five nets from the local model folder (once). */
export function faceApiNets(): Promise<Nets> {
  loading ??= (async () => {
    if ((faceapi.tf.tensor as unknown) !== (tfjs.tensor as unknown)) {
      throw new Error('face-api.node-wasm.js and @tensorflow/tfjs resolved to different tfjs copies');
    }
    setWasmPaths(wasmDir());
    if (!(await tfjs.setBackend('wasm'))) throw new Error(`tfjs wasm backend failed to start from ${wasmDir()}`);
    await tfjs.ready();
    const nets: Nets = {
      recognition: new faceapi.FaceRecognitionNet(),
      ssd: new faceapi.SsdMobilenetv1(),
      tiny: new faceapi.TinyFaceDetector(),
      landmarks: new faceapi.FaceLandmark68Net(),
      expression: new faceapi.FaceExpressionNet(),
    };
    for (const net of Object.values(nets)) await net.loadFromDisk(modelDir());
    return nets;
  })();
  return loading;
}

/** Number of live tfjs tensors (for leak checks); includes the nets' weights once loaded. */
export function liveTensors(): number {
  return tfjs.memory().numTensors;
}

/** Decodes an image file to RGB (alpha dropped, grey expanded to three channels). */
export async function readRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data: new Uint8Array(data), width: info.width, height: info.height };
  const out = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) out.fill(data[i * info.channels] ?? 0, 3 * i, 3 * i + 3);
  return { data: out, width: info.width, height: info.height };
}

/** Crops `box` the way face-api's `extractFaceTensors` does: clip at the image borders, then floor. */
export function cropRgb(img: RgbImage, box: { x: number; y: number; width: number; height: number }): RgbImage {
  const x = Math.floor(Math.max(box.x, 0));
  const y = Math.floor(Math.max(box.y, 0));
  const width = Math.floor(Math.min(box.x + box.width - Math.max(box.x, 0), img.width - Math.max(box.x, 0)));
  const height = Math.floor(Math.min(box.y + box.height - Math.max(box.y, 0), img.height - Math.max(box.y, 0)));
  const out = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * img.width + x) * 3;
    out.set(img.data.subarray(from, from + width * 3), r * width * 3);
  }
  return { data: out, width, height };
}

function toTensor(img: RgbImage): faceapi.tf.Tensor3D {
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`expected ${img.width}×${img.height}×3 = ${img.width * img.height * 3} values, got ${img.data.length}`);
  }
  return tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3], 'float32');
}

function take(t: Tensor): Activation {
  const out = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
  t.dispose();
  return out;
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

/** face-api's FaceRecognitionNet on a 150×150×3 HWC image (0..255), plus every block output. */
export async function recognitionReference(input150: Float32Array): Promise<RecognitionReference> {
  const nets = await faceApiNets();
  const img = toTensor({ data: input150, width: 150, height: 150 });
  const { value, ms } = await timed(() => nets.recognition.computeFaceDescriptor(img));
  const descriptor = Array.from(value as Float32Array);
  const params = nets.recognition.params;
  if (!params) throw new Error('FaceRecognitionNet has no params after loading');
  const replay = tf.tidy(() => replayRecognition(params, tf.expandDims(img, 0) as Tensor4D));
  img.dispose();
  const activations = Object.fromEntries(RECOGNITION_LAYERS.map((name) => [name, take(replay[name])])) as Record<RecognitionLayer, Activation>;
  const replayed = take(replay.descriptor).data;
  const replayMaxAbsDiff = descriptor.reduce((m, v, i) => Math.max(m, Math.abs(v - (replayed[i] ?? NaN))), 0);
  return { descriptor, activations, replayMaxAbsDiff, ms };
}

/** face-api's FaceRecognitionNet.forwardInput, op for op, keeping every block output (inside a tidy). */
function replayRecognition(p: RecognitionParams, batch: Tensor4D): Record<RecognitionLayer | 'descriptor', Tensor> {
  const keep: Partial<Record<RecognitionLayer | 'descriptor', Tensor>> = {};
  const conv = (x: Tensor4D, l: ConvLayer, stride: 1 | 2, relu: boolean): Tensor4D => {
    let out = tf.add(tf.conv2d(x, l.conv.filters, [stride, stride], stride === 2 ? 'valid' : 'same'), l.conv.bias) as Tensor4D;
    out = tf.add(tf.mul(out, l.scale.weights), l.scale.biases) as Tensor4D;
    return relu ? tf.relu(out) : out;
  };
  const residual = (x: Tensor4D, l: ResidualLayer): Tensor4D => tf.relu(tf.add(conv(conv(x, l.conv1, 1, true), l.conv2, 1, false), x)) as Tensor4D;
  const residualDown = (x: Tensor4D, l: ResidualLayer): Tensor4D => {
    let out = conv(conv(x, l.conv1, 2, true), l.conv2, 1, false);
    let pooled = tf.avgPool(x, 2, 2, 'valid') as Tensor4D;
    const zeros = tf.zeros(pooled.shape);
    if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
      const [b, h, w, c] = out.shape;
      out = tf.concat([out, tf.zeros([b, 1, w, c])], 1) as Tensor4D;
      out = tf.concat([out, tf.zeros([b, h + 1, 1, c])], 2) as Tensor4D;
    }
    pooled = pooled.shape[3] !== out.shape[3] ? (tf.concat([pooled, zeros], 3) as Tensor4D) : pooled;
    return tf.relu(tf.add(pooled, out)) as Tensor4D;
  };
  const mark = (name: RecognitionLayer, t: Tensor4D): Tensor4D => {
    keep[name] = t;
    return t;
  };
  const centred = faceapi.normalize(tf.cast(batch, 'float32') as Tensor4D, [122.782, 117.001, 104.298]);
  const x = tf.div(centred, 255) as Tensor4D;
  let out = mark('conv32_down', conv(x, p.conv32_down, 2, true));
  out = mark('pool', tf.maxPool(out, 3, 2, 'valid'));
  for (const name of ['conv32_1', 'conv32_2', 'conv32_3', 'conv64_down', 'conv64_1', 'conv64_2', 'conv64_3', 'conv128_down', 'conv128_1', 'conv128_2', 'conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out'] as const) {
    out = mark(name, name.endsWith('down') || name.endsWith('down_out') ? residualDown(out, p[name]) : residual(out, p[name]));
  }
  const globalAvg = mean(out, [1, 2]);
  keep.global_avg = globalAvg;
  keep.descriptor = tf.matMul(globalAvg as faceapi.tf.Tensor2D, p.fc);
  return keep as Record<RecognitionLayer | 'descriptor', Tensor>;
}

/** Both face-api detectors on one image (file path or RGB), with their raw outputs. */
export async function detectReference(image: string | RgbImage, options: DetectOptions = {}): Promise<DetectReference> {
  const nets = await faceApiNets();
  const rgb = typeof image === 'string' ? await readRgb(image) : image;
  const img = toTensor(rgb);
  const boxesOf = (dets: faceapi.FaceDetection[]): Detection[] =>
    dets.map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height, score: d.score }));
  const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: options.ssdMinConfidence ?? 0.5, maxResults: options.ssdMaxResults ?? 100 });
  const ssd = await timed(() => nets.ssd.locateFaces(img, ssdOptions));
  const inputSize = options.tinyInputSize ?? 416;
  const tinyOptions = new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: options.tinyScoreThreshold ?? 0.5 });
  const tiny = await timed(() => nets.tiny.locateFaces(img, tinyOptions));
  const out: DetectReference = {
    width: rgb.width,
    height: rgb.height,
    ssd: { detections: boxesOf(ssd.value), ms: ssd.ms },
    tiny: { detections: boxesOf(tiny.value), ms: tiny.ms },
  };
  if (options.raw ?? true) {
    const ssdRaw = nets.ssd.forwardInput(await faceapi.toNetInput(img));
    const [boxes, scores] = [ssdRaw.boxes[0], ssdRaw.scores[0]];
    if (!boxes || !scores) throw new Error('SsdMobilenetv1.forwardInput returned no batch entry');
    out.ssd.raw = { boxes: take(boxes), scores: take(scores) };
    out.tiny.raw = { grid: take(nets.tiny.forwardInput(await faceapi.toNetInput(img), inputSize)) };
  }
  img.dispose();
  return out;
}

/** face-api's FaceLandmark68Net on a face crop (any size; face-api pads it to a centred square, 112×112). */
export async function landmarksReference(crop: string | RgbImage): Promise<LandmarksReference> {
  const nets = await faceApiNets();
  const img = toTensor(typeof crop === 'string' ? await readRgb(crop) : crop);
  const { value, ms } = await timed(() => nets.landmarks.detectLandmarks(img));
  const landmarks = value as faceapi.FaceLandmarks68;
  const raw = take(nets.landmarks.runNet(await faceapi.toNetInput(img)));
  const features = take(nets.landmarks.faceFeatureExtractor.forwardInput(await faceapi.toNetInput(img)));
  img.dispose();
  return { positions: landmarks.positions.map((pt) => [pt.x, pt.y]), raw: Array.from(raw.data), features, ms };
}

/** face-api's FaceExpressionNet on a face crop (any size; face-api pads it to a centred square, 112×112). */
export async function expressionReference(crop: string | RgbImage): Promise<ExpressionReference> {
  const nets = await faceApiNets();
  const img = toTensor(typeof crop === 'string' ? await readRgb(crop) : crop);
  const { value, ms } = await timed(() => nets.expression.predictExpressions(img));
  const expressions = value as faceapi.FaceExpressions;
  const logits = take(nets.expression.runNet(await faceapi.toNetInput(img)));
  const features = take(nets.expression.faceFeatureExtractor.forwardInput(await faceapi.toNetInput(img)));
  img.dispose();
  const labels = faceapi.FACE_EXPRESSION_LABELS;
  return { labels, probabilities: labels.map((l) => expressions[l]), logits: Array.from(logits.data), features, ms };
}
