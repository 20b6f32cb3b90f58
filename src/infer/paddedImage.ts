/**
 * A photo inside a gray border, for the detector's second look at close-ups: a face that fills the frame (a
 * passport photo, a face crop, a selfie) has no context around it, and the SSD detector, trained on faces with
 * surroundings, misses it. Plain JS (Node and browser alike), bilinear, shrunk so the padded side stays bounded.
 */
import type { Box, FaceDetection, Point } from '../faces/box.js';
import type { RgbPixels } from './readImage.js';

/** Where the original image sits in the padded one: padded = original · scale + offset. */
export interface PaddedImage {
  img: RgbPixels;
  scale: number;
  offsetX: number;
  offsetY: number;
}

/** The gray of the border (mid-gray: neither a dark nor a bright edge for the detector). */
export const PAD_GRAY = 128;

/**
 * `img` with a border of `pad` × its longer side on every edge, shrunk (never enlarged) so that the padded
 * longer side is at most `maxSide` pixels.
 */
export function paddedImage(img: RgbPixels, pad: number, maxSide: number): PaddedImage {
  const border = pad * Math.max(img.width, img.height);
  const scale = Math.min(1, maxSide / (Math.max(img.width, img.height) + 2 * border));
  const W = Math.max(1, Math.round((img.width + 2 * border) * scale));
  const H = Math.max(1, Math.round((img.height + 2 * border) * scale));
  const offsetX = border * scale;
  const offsetY = border * scale;
  const out = new Uint8Array(W * H * 3).fill(PAD_GRAY);
  const { data, width: w, height: h } = img;
  for (let oy = 0; oy < H; oy++) {
    const sy = (oy + 0.5 - offsetY) / scale - 0.5;
    if (sy < -0.5 || sy > h - 0.5) continue;
    const y0 = Math.min(Math.max(Math.floor(sy), 0), h - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = Math.min(Math.max(sy - y0, 0), 1);
    for (let ox = 0; ox < W; ox++) {
      const sx = (ox + 0.5 - offsetX) / scale - 0.5;
      if (sx < -0.5 || sx > w - 0.5) continue;
      const x0 = Math.min(Math.max(Math.floor(sx), 0), w - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = Math.min(Math.max(sx - x0, 0), 1);
      const o = 3 * (oy * W + ox);
      for (let c = 0; c < 3; c++) {
        const a = (data[3 * (y0 * w + x0) + c] ?? 0) * (1 - fx) + (data[3 * (y0 * w + x1) + c] ?? 0) * fx;
        const b = (data[3 * (y1 * w + x0) + c] ?? 0) * (1 - fx) + (data[3 * (y1 * w + x1) + c] ?? 0) * fx;
        out[o + c] = Math.round(a * (1 - fy) + b * fy);
      }
    }
  }
  return { img: { data: out, width: W, height: H }, scale, offsetX, offsetY };
}

/** A point of the padded image back in the original's pixels. */
export function unpadPoint(p: PaddedImage, q: Point): Point {
  return { x: (q.x - p.offsetX) / p.scale, y: (q.y - p.offsetY) / p.scale };
}

/** A box of the padded image back in the original's pixels, clipped to the original (as first-look boxes are). */
export function unpadBox(p: PaddedImage, b: FaceDetection, width: number, height: number): FaceDetection {
  const tl = unpadPoint(p, b);
  const br = unpadPoint(p, { x: b.x + b.width, y: b.y + b.height });
  const x0 = Math.max(0, tl.x);
  const y0 = Math.max(0, tl.y);
  const box: Box = { x: x0, y: y0, width: Math.min(width, br.x) - x0, height: Math.min(height, br.y) - y0 };
  return { ...box, score: b.score };
}
