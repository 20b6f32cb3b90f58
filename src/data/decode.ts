import path from 'node:path';
import sharp from 'sharp';
import type { OutputInfo, Sharp } from 'sharp';
import { ExpnetError } from '../errors.js';
import { samplePath, type DataSet, type FaceFraming, type Sample } from './dataSet.js';
import { formatProblem } from './imageFormats.js';

/** Target of decoding: channel count and size `[height, width]`. */
export interface DecodeOptions {
  channels: 1 | 3;
  size: readonly [number, number];
  /** How the image is fitted to the size (sharp's resize fit); default 'fill' (stretch, face crops are ~square). */
  fit?: 'fill' | 'cover' | 'contain';
  /**
   * Re-frame the face: the scale and shift taking the image's `from` points (fractions of the source) onto `to`
   * (fractions of the output) in the least-squares sense, the source's edge pixels repeated where the new frame
   * reaches past them. Keeps the aspect ratio (`fit` is not used then).
   */
  reframe?: { from: FaceFraming; to: FaceFraming };
}

/** Pixel rectangle of the source that becomes the output under `reframe` (may extend past the source). */
export function reframeRect(from: FaceFraming, to: FaceFraming, src: { width: number; height: number }, out: { width: number; height: number }): { left: number; top: number; width: number; height: number } {
  const pts = (f: FaceFraming, w: number, h: number): [number, number][] => [f.leftEye, f.rightEye, f.mouth].map((p) => [p.x * w, p.y * h]);
  const p = pts(from, src.width, src.height);
  const q = pts(to, out.width, out.height);
  const mean = (v: [number, number][]): [number, number] => [v.reduce((a, b) => a + b[0], 0) / v.length, v.reduce((a, b) => a + b[1], 0) / v.length];
  const [pm, qm] = [mean(p), mean(q)];
  let num = 0;
  let den = 0;
  p.forEach(([x, y], i) => {
    const [u, v] = q[i] ?? [0, 0];
    num += (x - pm[0]) * (u - qm[0]) + (y - pm[1]) * (v - qm[1]);
    den += (x - pm[0]) ** 2 + (y - pm[1]) ** 2;
  });
  const s = den > 0 && num > 0 ? num / den : 1;
  // output = s · source + t, t = q̄ − s p̄: output (0, 0) is source (−t / s).
  const left = Math.round(pm[0] - qm[0] / s);
  const top = Math.round(pm[1] - qm[1] / s);
  return { left, top, width: Math.max(1, Math.round(out.width / s)), height: Math.max(1, Math.round(out.height / s)) };
}

/** The image re-framed (`reframeRect`), edges repeated, as a new sharp pipeline on raw pixels (not yet resized). */
async function reframed(image: Sharp, o: DecodeOptions, name: string): Promise<Sharp> {
  const r = o.reframe;
  if (!r) return image;
  const { data, info } = await image.flatten().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }).catch((cause: unknown) => decodeFailure(name, cause));
  const [h, w] = o.size;
  const rect = reframeRect(r.from, r.to, info, { width: w, height: h });
  const pad = {
    left: Math.max(0, -rect.left), top: Math.max(0, -rect.top),
    right: Math.max(0, rect.left + rect.width - info.width), bottom: Math.max(0, rect.top + rect.height - info.height),
  };
  const raw = { width: info.width, height: info.height, channels: info.channels };
  const padded = await sharp(data, { raw }).extend({ ...pad, extendWith: 'copy' }).raw().toBuffer({ resolveWithObject: true }).catch((cause: unknown) => decodeFailure(name, cause));
  return sharp(padded.data, { raw: { width: padded.info.width, height: padded.info.height, channels: padded.info.channels } })
    .extract({ left: rect.left + pad.left, top: rect.top + pad.top, width: rect.width, height: rect.height });
}

/** 8-bit gray pixels, row-major (the `pixels` field of CSV sources). */
export interface GrayPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

function checkOptions(o: DecodeOptions): void {
  const [h, w] = o.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || (o.channels !== 1 && o.channels !== 3)) {
    throw new ExpnetError('BAD_CONFIG', `decode: expected channels 1|3 and integer size [h, w] ≥ 1, got ${o.channels} and [${o.size.join(', ')}]`);
  }
}

function decodeFailure(name: string, cause: unknown): never {
  const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  throw new ExpnetError('BAD_IMAGE', `${name}: cannot decode image (expected a readable PNG/JPEG/TIFF/WebP/GIF/AVIF): ${why}`, { cause });
}

/** sharp pipeline: alpha flattened on black, resized, converted to gray or sRGB, raw 8-bit interleaved. */
async function run(image: Sharp, o: DecodeOptions, name: string): Promise<Uint8Array> {
  const [h, w] = o.size;
  let pipeline = o.reframe ? (await reframed(image, o, name)).resize(w, h, { fit: 'fill' }) : image.flatten().resize(w, h, { fit: o.fit ?? 'fill' });
  pipeline = o.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    decodeFailure(name, cause);
  }
  const { data, info } = out;
  if (info.width !== w || info.height !== h || info.channels !== o.channels || data.length !== w * h * o.channels) {
    throw new ExpnetError('BAD_IMAGE', `${name}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×${o.channels}`);
  }
  return toChw(data, o.channels, h * w);
}

/** Interleaved HWC bytes → planar CHW bytes (a copy). */
function toChw(hwc: Uint8Array, channels: number, plane: number): Uint8Array {
  const chw = new Uint8Array(plane * channels);
  if (channels === 1) {
    chw.set(hwc.subarray(0, plane));
    return chw;
  }
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) chw[c * plane + p] = hwc[p * channels + c] ?? 0;
  }
  return chw;
}

/**
 * Decodes an image file or encoded Buffer to planar CHW bytes at the requested size: EXIF orientation applied,
 * first frame of animated/multi-page images, any channel count and bit depth (16-bit → 8-bit, alpha flattened
 * on black, gray ↔ sRGB converted). Only the documented formats (imageFormats.ts) are decoded.
 * @throws ExpnetError('BAD_IMAGE') naming the file (or `name`) for unreadable or corrupt input.
 */
export async function decodeImageBytes(input: string | Buffer, options: DecodeOptions, name?: string): Promise<Uint8Array> {
  checkOptions(options);
  const label = name ?? (typeof input === 'string' ? input : 'image buffer');
  let image: Sharp;
  let refused: string | null;
  try {
    image = sharp(input, { failOn: 'error', autoOrient: true, pages: 1 });
    refused = formatProblem(await image.metadata(), label);
  } catch (cause) {
    throw new ExpnetError('BAD_IMAGE', `${label}: cannot open image: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (refused !== null) throw new ExpnetError('BAD_IMAGE', refused);
  return run(image, options, label);
}

/** Gray `pixels` (CSV sources) → planar CHW bytes at the requested size (copied through sharp only if resized/expanded). */
export async function decodePixelBytes(pixels: GrayPixels, options: DecodeOptions, name = 'pixels'): Promise<Uint8Array> {
  checkOptions(options);
  const { width, height, data } = pixels;
  if (data.length !== width * height) {
    throw new ExpnetError('BAD_IMAGE', `${name}: ${data.length} pixel values do not fill ${width}×${height}`);
  }
  const [h, w] = options.size;
  if (options.channels === 1 && h === height && w === width) return data.slice();
  return run(sharp(data, { raw: { width, height, channels: 1 } }), options, name);
}

/** Planar CHW bytes → Float32 in [0, 1], written into `out` at `offset` (or a new array). */
export function bytesToFloat(bytes: Uint8Array, out: Float32Array = new Float32Array(bytes.length), offset = 0): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = (bytes[i] ?? 0) / 255;
  return out;
}

/** Decodes an image file or Buffer to CHW Float32 in [0, 1] (see decodeImageBytes). */
export async function decodeImage(input: string | Buffer, options: DecodeOptions, name?: string): Promise<Float32Array> {
  return bytesToFloat(await decodeImageBytes(input, options, name));
}

/** Decodes gray `pixels` to CHW Float32 in [0, 1]. */
export async function decodePixels(pixels: GrayPixels, options: DecodeOptions): Promise<Float32Array> {
  return bytesToFloat(await decodePixelBytes(pixels, options));
}

/** Decodes one sample of a data set (its `pixels` when present, else its file) to CHW bytes. */
export async function decodeSampleBytes(dataSet: Pick<DataSet, 'root'>, sample: Sample, options: DecodeOptions): Promise<Uint8Array> {
  if (sample.pixels !== undefined) return decodePixelBytes(sample.pixels, options, path.join(dataSet.root, sample.path));
  return decodeImageBytes(samplePath(dataSet, sample), options);
}
