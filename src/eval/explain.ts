/**
 * Explaining one photo: every face the Recognizer finds (detection + 68 landmarks on ONNX Runtime) is aligned
 * exactly as for classification, then the libtorch expression net gives Grad-CAM maps for the predicted and
 * optionally a chosen class; the maps are drawn over the photo (warped back) and over the aligned crops.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { tensor } from '../engine/creation.js';
import { ExpnetError } from '../errors.js';
import { alignmentPoints, applySimilarity, similarityTransform, type AlignTemplate, type Similarity } from '../faces/align.js';
import { alignedGrayCrop } from '../infer/alignCrop.js';
import type { RgbPixels } from '../infer/readImage.js';
import type { Face, Recognizer } from '../infer/recognizer.js';
import type { ExpNet } from '../nets/expNet.js';
import { argmax } from '../train/metrics.js';
import { expNetAt, gradCam, normaliseMap, type CamMethod } from './gradCam.js';
import { blendHeat, overlayPng, sampleMap } from './heatmap.js';
import { softmaxAt } from './temperature.js';

export interface ClassMap {
  label: string;
  probability: number;
  /** h×w Grad-CAM map scaled to [0, 1]. */
  map: Float32Array;
}

export interface FaceExplanation {
  box: Face['box'];
  /** Photo → aligned-crop pixel coordinates (null for a whole-image crop). */
  toCrop: Similarity | null;
  /** The aligned gray crop the net saw (size×size in [0, 1]). */
  crop: Float32Array;
  size: number;
  probs: Record<string, number>;
  predicted: ClassMap;
  chosen: ClassMap | null;
  height: number;
  width: number;
}

export interface ExplainOptions {
  /** A label to explain besides the predicted one. */
  chosen?: string;
  /** Conv block whose activations are explained (default 5, the high-level layer). */
  block?: number;
  /** How the gradients weight the activations (default DEFAULT_CAM_METHOD; see gradCam.ts). */
  method?: CamMethod;
  /**
   * The card's calibration temperature (default 1): probabilities are softmax(logits / T), as the exported model
   * and the Recognizer report them. The maps do not change (dividing the logits by T scales Grad-CAM's weights, and
   * maps are normalised).
   */
  temperature?: number;
}

/** Grad-CAM of one gray crop for the predicted class and (optionally) a chosen label. */
export function explainCrop(net: ExpNet, labels: readonly string[], crop: Float32Array, o: ExplainOptions = {}): Omit<FaceExplanation, 'box' | 'toCrop'> {
  const { chosen } = o;
  const cam = expNetAt(net, o.block ?? net.blocks.length);
  const { inputSize: size, inChannels } = net.config;
  const c = chosen === undefined ? -1 : labels.indexOf(chosen);
  if (chosen !== undefined && c < 0) throw new ExpnetError('BAD_CONFIG', `--class ${chosen}: the model's labels are ${labels.join(', ')}`);
  const data = inChannels === 1 ? crop : Float32Array.from({ length: inChannels * crop.length }, (_, i) => crop[i % crop.length] ?? 0);
  const x = tensor(data, [1, inChannels, size, size]);
  try {
    const probe = gradCam(cam, x, []);
    const pred = argmax(probe.probs);
    const r = gradCam(cam, x, c >= 0 && c !== pred ? [pred, c] : [pred], o.method);
    const p = softmaxAt(r.logits, o.temperature ?? 1);
    const cm = (k: number, i: number): ClassMap => ({ label: labels[k] ?? String(k), probability: p[k] ?? 0, map: normaliseMap(r.maps[i] ?? new Float32Array()) });
    const probs = Object.fromEntries(labels.map((l, i) => [l, p[i] ?? 0]));
    return { crop, size, probs, predicted: cm(pred, 0), chosen: c < 0 ? null : c === pred ? cm(pred, 0) : cm(c, 1), height: r.height, width: r.width };
  } finally {
    x.dispose();
  }
}

/** Every face of the image, explained (no face: an empty list). */
export async function explainFaces(rec: Recognizer, net: ExpNet, labels: readonly string[], img: RgbPixels, o: ExplainOptions = {}): Promise<FaceExplanation[]> {
  const result = await rec.detect({ data: img.data, width: img.width, height: img.height, channels: 3 });
  const size = net.config.inputSize;
  const template: AlignTemplate = rec.bundle.template;
  const to = [template.leftEye, template.rightEye, template.mouth].map((p) => ({ x: p.x * size, y: p.y * size }));
  return result.faces.map((f) => ({
    box: f.box,
    toCrop: similarityTransform(alignmentPoints(f.landmarks), to),
    ...explainCrop(net, labels, alignedGrayCrop(img, f.landmarks, size, template), o),
  }));
}

/** The photo with each face's predicted-class map warped back over it (alpha-blended inside the crop square). */
export function photoOverlay(img: RgbPixels, faces: readonly FaceExplanation[]): Uint8Array {
  const out = Uint8Array.from(img.data);
  for (const f of faces) {
    if (!f.toCrop) continue;
    const s = f.toCrop;
    // bounding box in the photo of the crop square (generous: the box doubled)
    const { x, y, width, height } = f.box;
    const x0 = Math.max(0, Math.floor(x - width / 2));
    const y0 = Math.max(0, Math.floor(y - height / 2));
    const x1 = Math.min(img.width, Math.ceil(x + 1.5 * width));
    const y1 = Math.min(img.height, Math.ceil(y + 1.5 * height));
    const W = x1 - x0;
    const H = y1 - y0;
    if (W <= 0 || H <= 0) continue;
    const heat = new Float32Array(W * H);
    const inside = new Uint8Array(W * H);
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++) {
        const c = applySimilarity(s, { x: x0 + xx + 0.5, y: y0 + yy + 0.5 });
        const u = c.x / f.size;
        const v = c.y / f.size;
        if (u < 0 || u >= 1 || v < 0 || v >= 1) continue;
        inside[yy * W + xx] = 1;
        heat[yy * W + xx] = sampleMap(f.predicted.map, f.height, f.width, u, v);
      }
    const base = new Uint8Array(W * H * 3);
    for (let yy = 0; yy < H; yy++) base.set(out.subarray(((y0 + yy) * img.width + x0) * 3, ((y0 + yy) * img.width + x1) * 3), yy * W * 3);
    const blended = blendHeat(base, 3, heat, W, H, 0.5);
    for (let p = 0; p < W * H; p++) {
      if (!inside[p]) continue;
      const o = ((y0 + Math.floor(p / W)) * img.width + x0 + (p % W)) * 3;
      out.set(blended.subarray(3 * p, 3 * p + 3), o);
    }
  }
  return out;
}

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (p: number): string => `${(100 * p).toFixed(0)}%`;

/**
 * One PNG: the photo with the predicted-class maps over the faces, and below it one row per face: the aligned
 * crop, its map for the predicted class, and for the chosen class.
 */
export async function explanationPng(img: RgbPixels | null, faces: readonly FaceExplanation[], tile = 192): Promise<Buffer> {
  const gap = 8;
  const caption = 22;
  const rowW = 3 * tile + 4 * gap;
  const photoScale = img ? Math.min(1, 1200 / img.width) : 1;
  const photoW = img ? Math.round(img.width * photoScale) : 0;
  const photoH = img ? Math.round(img.height * photoScale) : 0;
  const W = Math.max(rowW, photoW);
  const H = photoH + faces.length * (tile + caption + gap) + gap;
  const layers: OverlayOptions[] = [];
  const texts: string[] = [];
  if (img) {
    const photo = await sharp(Buffer.from(photoOverlay(img, faces)), { raw: { width: img.width, height: img.height, channels: 3 } }).resize(photoW, photoH).png().toBuffer();
    layers.push({ input: photo, left: 0, top: 0 });
    faces.forEach((f, i) => texts.push(`<text x="${f.box.x * photoScale}" y="${Math.max(14, f.box.y * photoScale - 4)}" font-size="14" fill="#fff" stroke="#000" stroke-width="0.6">${i + 1}: ${esc(f.predicted.label)} ${pct(f.predicted.probability)}</text>`));
  }
  for (const [i, f] of faces.entries()) {
    const top = photoH + gap + i * (tile + caption + gap);
    const scale = Math.max(1, Math.round(tile / f.size));
    const none = new Float32Array(f.height * f.width);
    const tiles = [
      { png: await overlayPng(f.crop, f.size, none, f.height, f.width, scale), text: `face ${i + 1}: aligned crop` },
      { png: await overlayPng(f.crop, f.size, f.predicted.map, f.height, f.width, scale), text: `predicted ${f.predicted.label} ${pct(f.predicted.probability)}` },
      ...(f.chosen ? [{ png: await overlayPng(f.crop, f.size, f.chosen.map, f.height, f.width, scale), text: `chosen ${f.chosen.label} ${pct(f.chosen.probability)}` }] : []),
    ];
    for (const [k, t] of tiles.entries()) {
      const left = gap + k * (tile + gap);
      layers.push({ input: await sharp(t.png).resize(tile, tile, { kernel: 'nearest' }).png().toBuffer(), left, top: top + caption });
      texts.push(`<text x="${left}" y="${top + 16}" font-size="14" fill="#222">${esc(t.text)}</text>`);
    }
  }
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">${texts.join('')}</svg>`), left: 0, top: 0 });
  return sharp({ create: { width: W, height: H, channels: 3, background: '#ffffff' } }).composite(layers).png().toBuffer();
}
