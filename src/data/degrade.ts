/**
 * Image-quality augmentation: Gaussian blur, downscale-and-back and JPEG compression of a CHW Float32 image in
 * [0, 1], each applied with its own probability. Photos, webcams and data sets differ in sharpness and
 * compression far more than in pose: a model trained on FER2013's soft 48-px JPEGs meets sharp photo crops, SFEW's
 * dark movie frames and heavily compressed web images. The strength ranges are stated once here (for a 48-px crop;
 * blur scales with the side).
 */
import { ExpnetError } from '../errors.js';
import type { Rng } from './rng.js';

/** Probability of each degradation (0 = never). */
export interface DegradeOptions {
  blur: number;
  downscale: number;
  jpeg: number;
}

export const NO_DEGRADE: Readonly<DegradeOptions> = Object.freeze({ blur: 0, downscale: 0, jpeg: 0 });

/** Blur σ in pixels of a 48-px side, drawn uniformly (scaled by side / 48). */
export const BLUR_SIGMA: readonly [number, number] = [0.4, 1.4];
/** Downscale factor of the side, drawn uniformly: 48 px → 17–38 px and back (bilinear). */
export const DOWNSCALE_FACTOR: readonly [number, number] = [0.35, 0.8];
/** JPEG quality (IJG scale), drawn uniformly. */
export const JPEG_QUALITY: readonly [number, number] = [20, 80];

export const degradeEnabled = (o: Readonly<DegradeOptions> | undefined): o is DegradeOptions => o !== undefined && (o.blur > 0 || o.downscale > 0 || o.jpeg > 0);

/** Checks probabilities in [0, 1]; names `where`. */
export function checkDegrade(o: Readonly<DegradeOptions>, where: string): void {
  for (const k of ['blur', 'downscale', 'jpeg'] as const) {
    const v = o[k];
    if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new ExpnetError('BAD_CONFIG', `${where}.${k}: expected a probability in [0, 1], got ${JSON.stringify(v)}`);
  }
}

/** Separable Gaussian blur of one plane in place (edges repeated). */
function blurPlane(a: Float32Array, off: number, h: number, w: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2 * sigma));
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((x, y) => x + y, 0);
  const tmp = new Float32Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = -r; i <= r; i++) v += (k[i + r] ?? 0) * (a[off + y * w + Math.min(w - 1, Math.max(0, x + i))] ?? 0);
      tmp[y * w + x] = v / sum;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = -r; i <= r; i++) v += (k[i + r] ?? 0) * (tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x] ?? 0);
      a[off + y * w + x] = v / sum;
    }
}

/** Bilinear resample of a plane (pixel centres aligned, edges repeated). */
function resample(src: Float32Array, off: number, h: number, w: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / oh - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / ow - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const at = (yy: number, xx: number): number => src[off + yy * w + xx] ?? 0;
      out[y * ow + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
    }
  }
  return out;
}

/** Down to f × the side (anti-aliased by a blur of σ = 0.5 / f) and back up, in place. */
function downscalePlane(a: Float32Array, off: number, h: number, w: number, f: number): void {
  blurPlane(a, off, h, w, 0.5 / f);
  const [sh, sw] = [Math.max(4, Math.round(h * f)), Math.max(4, Math.round(w * f))];
  const small = resample(a, off, h, w, sh, sw);
  a.set(resample(small, 0, sh, sw, h, w), off);
}

/** The JPEG standard's luminance quantisation table (Annex K). */
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const COS = Float64Array.from({ length: 64 }, (_, i) => {
  const [u, x] = [Math.floor(i / 8), i % 8];
  return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** 8×8 DCT, quantisation at `quality` (IJG scaling), inverse DCT, in place (edge blocks padded by repetition). */
function jpegPlane(a: Float32Array, off: number, h: number, w: number, quality: number): void {
  const s = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const q = LUMA_Q.map((v) => Math.min(255, Math.max(1, Math.floor((v * s + 50) / 100))));
  const blk = new Float64Array(64);
  const coef = new Float64Array(64);
  for (let by = 0; by < h; by += 8)
    for (let bx = 0; bx < w; bx += 8) {
      for (let i = 0; i < 64; i++) blk[i] = 255 * (a[off + Math.min(h - 1, by + (i >> 3)) * w + Math.min(w - 1, bx + (i & 7))] ?? 0) - 128;
      for (let u = 0; u < 8; u++)
        for (let v = 0; v < 8; v++) {
          let c = 0;
          for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) c += (COS[u * 8 + y] ?? 0) * (COS[v * 8 + x] ?? 0) * (blk[y * 8 + x] ?? 0);
          const qq = q[u * 8 + v] ?? 1;
          coef[u * 8 + v] = Math.round(c / qq) * qq;
        }
      for (let y = 0; y < 8 && by + y < h; y++)
        for (let x = 0; x < 8 && bx + x < w; x++) {
          let p = 0;
          for (let u = 0; u < 8; u++) for (let v = 0; v < 8; v++) p += (COS[u * 8 + y] ?? 0) * (COS[v * 8 + x] ?? 0) * (coef[u * 8 + v] ?? 0);
          const val = (p + 128) / 255;
          a[off + (by + y) * w + bx + x] = val < 0 ? 0 : val > 1 ? 1 : val;
        }
    }
}

/**
 * Degrades `image[offset … offset + C·H·W)` in place: blur, then downscale, then JPEG, each with its probability.
 * Always consumes 6 numbers of `rng` (3 gates, 3 strengths), so the stream stays aligned whatever fires.
 */
export function degrade(image: Float32Array, channels: number, height: number, width: number, o: Readonly<DegradeOptions>, rng: Rng, offset = 0): void {
  const gates = [rng.next(), rng.next(), rng.next()];
  const u = [rng.next(), rng.next(), rng.next()];
  const lerp = ([lo, hi]: readonly [number, number], t: number): number => lo + (hi - lo) * t;
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    const off = offset + c * plane;
    if ((gates[0] ?? 1) < o.blur) blurPlane(image, off, height, width, (lerp(BLUR_SIGMA, u[0] ?? 0) * Math.max(height, width)) / 48);
    if ((gates[1] ?? 1) < o.downscale) downscalePlane(image, off, height, width, lerp(DOWNSCALE_FACTOR, u[1] ?? 0));
    if ((gates[2] ?? 1) < o.jpeg) jpegPlane(image, off, height, width, lerp(JPEG_QUALITY, u[2] ?? 0));
  }
}
