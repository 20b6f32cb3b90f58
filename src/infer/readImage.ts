/**
 * Any image input → 8-bit RGB pixels: a path, a Buffer of an encoded image (JPEG, PNG, WebP, GIF, TIFF or AVIF;
 * other formats only when allowed), or raw pixels. EXIF orientation is applied; gray, RGBA, CMYK and 16-bit
 * inputs are converted; animated images give their first frame; images over the pixel limit are refused before
 * decoding (decompression bombs).
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { formatProblem, type ReadImageOptions } from '../data/imageFormats.js';
import { constants } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { open, type FileHandle } from 'node:fs/promises';
import { ExpnetError, fsReason } from '../errors.js';

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

/** A path, the bytes of an encoded image (a Buffer or any Uint8Array), or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

/** Default pixel limit: 40 megapixels (a 7,700 × 5,200 photo). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export { formatOf, formatProblem, IMAGE_FORMATS, type ReadImageOptions } from '../data/imageFormats.js';

export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `<buffer of ${input.byteLength} bytes>`;
  if (input !== null && typeof input === 'object' && 'data' in input) return `<raw ${input.width}×${input.height}×${input.channels}>`;
  return `<${input === null ? 'null' : typeof input}>`;
}

/**
 * The bytes of an image file: only a regular file is read (opened without blocking, so a FIFO or a device is
 * refused instead of hanging); a missing file is NOT_FOUND, anything else unreadable BAD_INPUT, saying why.
 */
export async function readImageFile(path: string): Promise<Buffer>;
export async function readImageFile(path: string, checkOnly: true): Promise<null>;
export async function readImageFile(path: string, checkOnly = false): Promise<Buffer | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) throw new ExpnetError('BAD_INPUT', `${path}: not a regular file (${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : 'a device or socket'})`);
    if (!checkOnly && st.size === 0) throw new ExpnetError('BAD_IMAGE', `${path}: an empty file (0 bytes), not an image`);
    return checkOnly ? null : await fh.readFile();
  } catch (err) {
    if (err instanceof ExpnetError) throw err;
    const c = (err as { code?: unknown }).code;
    if (c === 'ENOENT') throw new ExpnetError('NOT_FOUND', `not found: ${path}${isAbsolute(path) ? '' : ` (no such file at ${resolve(path)})`}`, { cause: err });
    throw new ExpnetError('BAD_INPUT', `${path}: cannot read (${c === 'ELOOP' ? 'symlink loop' : fsReason(err)})`, { cause: err });
  } finally {
    await fh?.close();
  }
}

export async function readRgb(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS, options: ReadImageOptions = {}): Promise<RgbPixels> {
  const name = describeInput(input);
  let img: Sharp;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    // by path only when other formats are allowed (an SVG's relative links resolve from its folder)
    const bytes = typeof input !== 'string' ? input : options.anyFormat === true ? ((await readImageFile(input, true)) ?? input) : await readImageFile(input);
    img = sharp(bytes, { limitInputPixels: false, failOn: 'error', animated: false });
    let meta: Metadata;
    try {
      meta = await img.metadata();
    } catch (err) {
      throw new ExpnetError('BAD_IMAGE', `${name}: not a readable image (${(err as Error).message})`, { cause: err });
    }
    const refused = formatProblem(meta, name, options);
    if (refused !== null) throw new ExpnetError('BAD_IMAGE', `${refused}; allow other formats explicitly (anyFormat / --any-format) for trusted inputs only`);
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      throw new ExpnetError('BAD_IMAGE', `${name}: ${meta.width}×${meta.height} = ${pixels} pixels is over the limit of ${maxPixels} (raise maxPixels to allow it)`);
    }
    img = img.rotate();
  } else {
    if (input === null || typeof input !== 'object' || !('data' in input) || !(input.data instanceof Uint8Array || input.data instanceof Uint8ClampedArray)) {
      throw new ExpnetError('BAD_INPUT', `image input: expected a path, the bytes of an encoded image (Buffer or Uint8Array) or raw pixels { data, width, height, channels }, got ${name}`);
    }
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
