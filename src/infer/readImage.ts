/**
 * Any image input → 8-bit RGB pixels: a path, a Buffer of an encoded image, or raw pixels. EXIF orientation is
 * applied; gray, RGBA, CMYK and 16-bit inputs are converted; animated images give their first frame; images
 * over the pixel limit are refused before decoding (decompression bombs).
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { ExpnetError } from '../errors.js';

export interface RgbPixels {
  /** HWC, 3 channels, 0..255. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Raw pixels given by the caller: 1 (gray), 3 (RGB) or 4 (RGBA) interleaved channels. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

export type ImageInput = string | Buffer | RawImage;

/** Default pixel limit: 40 megapixels (a 7,700 × 5,200 photo). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (Buffer.isBuffer(input)) return `<buffer of ${input.byteLength} bytes>`;
  return `<raw ${input.width}×${input.height}×${input.channels}>`;
}

export async function readRgb(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<RgbPixels> {
  const name = describeInput(input);
  let img: Sharp;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    img = sharp(input, { limitInputPixels: false, failOn: 'error', animated: false });
    let meta: Metadata;
    try {
      meta = await img.metadata();
    } catch (err) {
      throw new ExpnetError('BAD_IMAGE', `${name}: not a readable image (${(err as Error).message})`, { cause: err });
    }
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      throw new ExpnetError('BAD_IMAGE', `${name}: ${meta.width}×${meta.height} = ${pixels} pixels is over the limit of ${maxPixels} (raise maxPixels to allow it)`);
    }
    img = img.rotate();
  } else {
    const { width, height, channels, data } = input;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * channels) {
      throw new ExpnetError('BAD_IMAGE', `${name}: expected ${width}×${height}×${channels} bytes, got ${data.length}`);
    }
    if (width * height > maxPixels) throw new ExpnetError('BAD_IMAGE', `${name}: over the limit of ${maxPixels} pixels`);
    img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  }
  try {
    const { data, info } = await img.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels === 3) return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
    const rgb = new Uint8Array(info.width * info.height * 3);
    for (let p = 0; p < info.width * info.height; p++) rgb.fill(data[p * info.channels] ?? 0, 3 * p, 3 * p + 3);
    return { data: rgb, width: info.width, height: info.height };
  } catch (err) {
    throw new ExpnetError('BAD_IMAGE', `${name}: cannot decode (${(err as Error).message})`, { cause: err });
  }
}

/**
 * The square net input face-api feeds its nets: the image padded with black to a square (bottom/right, or
 * centred) and resized to size×size, as NCHW float32 in [0, 1]; `reshaped` is the image's size in the square.
 */
export async function squareInput(img: RgbPixels, size: number, centred: boolean): Promise<{ data: Float32Array; reshaped: { width: number; height: number } }> {
  const side = Math.max(img.width, img.height);
  const dw = side - img.width;
  const dh = side - img.height;
  const pad = centred
    ? { left: Math.floor(dw / 2), right: dw - Math.floor(dw / 2), top: Math.floor(dh / 2), bottom: dh - Math.floor(dh / 2) }
    : { left: 0, right: dw, top: 0, bottom: dh };
  // Two pipelines: within one, sharp always resizes before it extends, whatever the call order.
  const square = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .extend({ ...pad, background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer();
  const raw = await sharp(square, { raw: { width: side, height: side, channels: 3 } })
    .resize(size, size, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = (raw[3 * p + c] ?? 0) / 255;
  const scale = size / side;
  return { data: out, reshaped: { width: img.width * scale, height: img.height * scale } };
}

/** The pixels inside a box (clipped to the image, floored), as a new RgbPixels; null when empty. */
export function cropRgb(img: RgbPixels, box: { x: number; y: number; width: number; height: number }): { crop: RgbPixels; x: number; y: number } | null {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(img.width, Math.floor(box.x + box.width));
  const y1 = Math.min(img.height, Math.floor(box.y + box.height));
  if (x1 - x0 < 2 || y1 - y0 < 2) return null;
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x1) * 3), y * w * 3);
  return { crop: { data, width: w, height: h }, x: x0, y: y0 };
}
