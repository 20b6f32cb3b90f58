/** Thumbnails of decoded images (what the net saw), as PNG data URIs for self-contained reports. */
import sharp from 'sharp';
import type { ImageSet } from '../train/imageSet.js';

/** Row `row` of the set (N×C×H×W in [0, 1]) as an 8-bit PNG (gray or RGB). */
export function imagePng(set: ImageSet, row: number): Promise<Buffer> {
  const { channels, height, width } = set.shape;
  const plane = height * width;
  const src = set.x.subarray(row * channels * plane, (row + 1) * channels * plane);
  const px = Buffer.alloc(channels * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) px[p * channels + c] = Math.round(255 * Math.min(1, Math.max(0, src[c * plane + p] ?? 0)));
  return sharp(px, { raw: { width, height, channels: channels as 1 | 3 } }).png().toBuffer();
}

export const pngDataUri = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;

/** Data URIs of the given rows. */
export async function thumbnails(set: ImageSet, rows: readonly number[]): Promise<string[]> {
  return Promise.all(rows.map(async (r) => pngDataUri(await imagePng(set, r))));
}
