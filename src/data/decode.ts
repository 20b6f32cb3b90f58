import path from 'node:path';
import sharp from 'sharp';
import type { OutputInfo, Sharp } from 'sharp';
import { ExpnetError } from '../errors.js';
import { samplePath, type DataSet, type Sample } from './dataSet.js';
import { formatProblem } from './imageFormats.js';

/** Target of decoding: channel count and size `[height, width]`. */
export interface DecodeOptions {
  channels: 1 | 3;
  size: readonly [number, number];
  /** How the image is fitted to the size (sharp's resize fit); default 'fill' (stretch, face crops are ~square). */
  fit?: 'fill' | 'cover' | 'contain';
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

/** sharp pipeline: alpha flattened on black, resized, converted to gray or sRGB, raw 8-bit interleaved. */
async function run(image: Sharp, o: DecodeOptions, name: string): Promise<Uint8Array> {
  const [h, w] = o.size;
  let pipeline = image.flatten().resize(w, h, { fit: o.fit ?? 'fill' });
  pipeline = o.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new ExpnetError('BAD_IMAGE', `${name}: cannot decode image (expected a readable PNG/JPEG/TIFF/WebP/GIF/AVIF): ${why}`, { cause });
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
