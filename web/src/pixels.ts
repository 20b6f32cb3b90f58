/**
 * Canvas pixels → RGB, the browser's counterpart of src/infer/readImage.ts; the net inputs are made from it by
 * the shared src/infer/squareInput.ts, as in Node.
 */
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
