/** Canvas pixels → the arrays the nets take (browser twin of src/infer/readImage.ts, with canvas resampling). */
import type { RgbPixels } from '../../src/infer/readImage.js';

export type Source = CanvasImageSource & { readonly width: number; readonly height: number };

function context(w: number, h: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2d canvas context');
  return ctx;
}

/** The whole frame as 8-bit RGB (HWC). */
export function framePixels(src: Source, width: number, height: number): RgbPixels {
  const ctx = context(width, height);
  ctx.drawImage(src, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    data[q] = rgba[p] ?? 0;
    data[q + 1] = rgba[p + 1] ?? 0;
    data[q + 2] = rgba[p + 2] ?? 0;
  }
  return { data, width, height };
}

/**
 * A region (sx, sy, sw, sh) of `src` padded with black to a square (bottom/right, or centred) and resized to
 * size×size, as NCHW float32 in [0, 1]; `reshaped` is the region's size inside the square (as squareInput).
 */
export function squareInput(src: Source, region: { x: number; y: number; width: number; height: number }, size: number, centred: boolean): { data: Float32Array; reshaped: { width: number; height: number } } {
  const side = Math.max(region.width, region.height);
  const scale = size / side;
  const dw = side - region.width;
  const dh = side - region.height;
  const ox = centred ? Math.floor(dw / 2) * scale : 0;
  const oy = centred ? Math.floor(dh / 2) * scale : 0;
  const ctx = context(size, size);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  ctx.drawImage(src, region.x, region.y, region.width, region.height, ox, oy, region.width * scale, region.height * scale);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = (rgba[4 * p + c] ?? 0) / 255;
  return { data: out, reshaped: { width: region.width * scale, height: region.height * scale } };
}

/** The box clipped to the frame and floored, as cropRgb does; null when under 2 pixels wide or high. */
export function clipRegion(box: { x: number; y: number; width: number; height: number }, width: number, height: number): { x: number; y: number; width: number; height: number } | null {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.floor(box.x + box.width));
  const y1 = Math.min(height, Math.floor(box.y + box.height));
  if (x1 - x0 < 2 || y1 - y0 < 2) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
