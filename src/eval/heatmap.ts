/**
 * Heat maps as pictures: a colour map, bilinear sampling of a coarse h×w map (cell centres at
 * ((j + ½)/w, (i + ½)/h) of the image), and blending over gray or RGB pixels.
 */
import sharp from 'sharp';

/** The "jet"-like colour of v ∈ [0, 1]: blue → cyan → yellow → red. */
export function heatColour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const ch = (c: number): number => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - c))));
  return [ch(3), ch(2), ch(1)];
}

/** The map at continuous image coordinates (u, v) ∈ [0, 1]² (bilinear between cell centres, clamped at the border). */
export function sampleMap(map: ArrayLike<number>, h: number, w: number, u: number, v: number): number {
  const fx = Math.min(w - 1, Math.max(0, u * w - 0.5));
  const fy = Math.min(h - 1, Math.max(0, v * h - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const at = (y: number, x: number): number => map[y * w + x] ?? 0;
  return (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1)) + ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1));
}

/** The h×w map resized to H×W (bilinear, align-corners false). */
export function upsampleMap(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = sampleMap(map, h, w, (x + 0.5) / W, (y + 0.5) / H);
  return out;
}

/**
 * RGB bytes of `base` (gray or RGB, HWC or a single plane, values 0..255) with the heat map (H×W in [0, 1])
 * blended over it: colour weight `alpha · heat` so cold regions stay visible.
 */
export function blendHeat(base: Uint8Array, channels: 1 | 3, heat: ArrayLike<number>, W: number, H: number, alpha = 0.6): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    const v = heat[p] ?? 0;
    const [r, g, b] = heatColour(v);
    const k = alpha * Math.min(1, 0.25 + v);
    for (let c = 0; c < 3; c++) {
      const src = base[channels === 1 ? p : 3 * p + c] ?? 0;
      out[3 * p + c] = Math.round((1 - k) * src + k * [r, g, b][c]!);
    }
  }
  return out;
}

/** A gray image in [0, 1] (size×size) with the map over it, scaled up `scale` times (nearest) as PNG. */
export async function overlayPng(gray: Float32Array, size: number, map: ArrayLike<number>, h: number, w: number, scale = 4): Promise<Buffer> {
  const S = size * scale;
  const big = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) big[y * S + x] = Math.round(255 * (gray[Math.floor(y / scale) * size + Math.floor(x / scale)] ?? 0));
  const rgb = blendHeat(big, 1, upsampleMap(map, h, w, S, S), S, S);
  return sharp(rgb, { raw: { width: S, height: S, channels: 3 } }).png().toBuffer();
}
