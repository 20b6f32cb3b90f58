/**
 * The square net inputs face-api.js feeds its nets, computed in plain JS from RGB pixels (Node and browser
 * alike): a region of the image padded with black to a square (bottom/right, or centred) and resized as tfjs
 * `resizeBilinear(x, [size, size], alignCorners = false)` does (source = destination · in/out, no half-pixel
 * offset, no antialiasing), as NCHW float32 in [0, 1]. One pass, no intermediate image.
 */
import type { RgbPixels } from './readImage.js';

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SquareInput {
  /** NCHW float32 in [0, 1], 3·size·size values. */
  data: Float32Array;
  /** The region's size inside the size×size square (face-api's `reshaped` input size). */
  reshaped: { width: number; height: number };
}

/** A box clipped to the image and floored (face-api's `extractFaceTensors`); null when under 2 pixels wide or high. */
export function clipRegion(box: Region, width: number, height: number): Region | null {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.floor(box.x + box.width));
  const y1 = Math.min(height, Math.floor(box.y + box.height));
  if (x1 - x0 < 2 || y1 - y0 < 2) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Source index and weight along one axis of the padded square (-1: padding), for each output position. */
function axis(size: number, side: number, pad: number, length: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const scale = side / size;
  const i0 = new Int32Array(size);
  const i1 = new Int32Array(size);
  const w = new Float32Array(size);
  const inside = (q: number): number => (q - pad >= 0 && q - pad < length ? q - pad : -1);
  for (let o = 0; o < size; o++) {
    const s = o * scale;
    const q0 = Math.floor(s);
    i0[o] = inside(q0);
    i1[o] = inside(Math.min(q0 + 1, side - 1));
    w[o] = s - q0;
  }
  return { i0, i1, w };
}

/**
 * `region` (integer pixels inside `img`, default the whole image) padded to a square — bottom/right, or centred
 * with the odd pixel after — and resized to size×size.
 */
export function squareInput(img: RgbPixels, size: number, centred: boolean, region: Region = { x: 0, y: 0, width: img.width, height: img.height }): SquareInput {
  const side = Math.max(region.width, region.height);
  const padX = centred ? Math.floor((side - region.width) / 2) : 0;
  const padY = centred ? Math.floor((side - region.height) / 2) : 0;
  const xs = axis(size, side, padX, region.width);
  const ys = axis(size, side, padY, region.height);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const { data, width: W } = img;
  const rowBase = (r: number): number => (r < 0 ? -1 : 3 * ((region.y + r) * W + region.x));
  // byte offsets of the two source columns (-1: padding), per output column
  const col0 = Int32Array.from(xs.i0, (c) => (c < 0 ? -1 : 3 * c));
  const col1 = Int32Array.from(xs.i1, (c) => (c < 0 ? -1 : 3 * c));
  const px = (row: number, col: number, c: number): number => (row < 0 || col < 0 ? 0 : (data[row + col + c] as number));
  for (let oy = 0; oy < size; oy++) {
    const r0 = rowBase(ys.i0[oy] as number);
    const r1 = rowBase(ys.i1[oy] as number);
    if (r0 < 0 && r1 < 0) continue; // padding rows stay 0
    const wy = (ys.w[oy] as number) / 255;
    const vy = 1 / 255 - wy;
    for (let ox = 0; ox < size; ox++) {
      const c0 = col0[ox] as number;
      const c1 = col1[ox] as number;
      if (c0 < 0 && c1 < 0) continue;
      const wx = xs.w[ox] as number;
      const p = oy * size + ox;
      for (let c = 0, o = p; c < 3; c++, o += plane) {
        const a = px(r0, c0, c);
        const b = px(r1, c0, c);
        const top = a + (px(r0, c1, c) - a) * wx;
        const bottom = b + (px(r1, c1, c) - b) * wx;
        out[o] = top * vy + bottom * wy;
      }
    }
  }
  const scale = size / side;
  return { data: out, reshaped: { width: region.width * scale, height: region.height * scale } };
}
