import { ExpnetError } from '../errors.js';
import { degrade, degradeEnabled, type DegradeOptions } from './degrade.js';
import type { Rng } from './rng.js';

/** Random augmentation of a training image; every draw is uniform in the stated range. */
export interface AugmentOptions {
  /** Probability of a horizontal flip. */
  flipProbability: number;
  /** Rotation in degrees, drawn from [−max, max]. */
  maxRotationDeg: number;
  /** Zoom factor range [min, max]; > 1 zooms in (a random crop rescaled to full size). */
  scaleRange: readonly [number, number];
  /** Shift as a fraction of width/height, drawn from [−max, max] per axis (the crop's position). */
  maxTranslate: number;
  /** Added to every value, drawn from [−b, b] (values are in [0, 1]). */
  brightness: number;
  /** Contrast factor around the image mean, drawn from [1 − c, 1 + c]. */
  contrast: number;
  /** Blur / downscale / JPEG after the rest (src/data/degrade.ts); absent or all 0: off, and no numbers are drawn for it. */
  degrade?: DegradeOptions;
}

/** The defaults, stated once: mild geometric and photometric jitter suited to aligned 48–224 px face crops. */
export const DEFAULT_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  flipProbability: 0.5,
  maxRotationDeg: 10,
  scaleRange: [0.9, 1.1] as const,
  maxTranslate: 0.1,
  brightness: 0.1,
  contrast: 0.2,
});

/** No augmentation: `augment` with these options copies its input. */
export const NO_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  flipProbability: 0, maxRotationDeg: 0, scaleRange: [1, 1] as const, maxTranslate: 0, brightness: 0, contrast: 0,
});

/**
 * DEFAULT_AUGMENT overridden by `partial`; rejects unknown keys and out-of-range values.
 * @throws ExpnetError('BAD_CONFIG') naming `where.key` and what was expected.
 */
export function resolveAugmentOptions(partial: Readonly<Record<string, unknown>> = {}, where = 'augment'): AugmentOptions {
  const out: AugmentOptions = { ...DEFAULT_AUGMENT };
  const bad = (key: string, expected: string): never => {
    throw new ExpnetError('BAD_CONFIG', `${where}.${key}: expected ${expected}, got ${JSON.stringify(partial[key])}`);
  };
  const num = (key: string, lo: number, hi: number): number => {
    const v = partial[key];
    return typeof v === 'number' && v >= lo && v <= hi ? v : bad(key, `a number in [${lo}, ${hi}]`);
  };
  for (const key of Object.keys(partial)) {
    switch (key) {
      case 'flipProbability': out.flipProbability = num(key, 0, 1); break;
      case 'maxRotationDeg': out.maxRotationDeg = num(key, 0, 180); break;
      case 'maxTranslate': out.maxTranslate = num(key, 0, 0.5); break;
      case 'brightness': out.brightness = num(key, 0, 1); break;
      case 'contrast': out.contrast = num(key, 0, 1); break;
      case 'scaleRange': {
        const v = partial[key];
        const ok = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && x > 0) && v[0] <= v[1];
        out.scaleRange = ok ? [v[0] as number, v[1] as number] : bad(key, '[min, max] with 0 < min ≤ max');
        break;
      }
      default:
        throw new ExpnetError('BAD_CONFIG', `${where}.${key}: unknown option; expected one of ${Object.keys(DEFAULT_AUGMENT).join(', ')}`);
    }
  }
  return out;
}

/** Shape of a planar CHW image. */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** The random parameters of one augmentation (exposed for tests and logging). */
export interface AugmentDraw {
  flip: boolean;
  angle: number;
  scale: number;
  tx: number;
  ty: number;
  brightness: number;
  contrast: number;
}

/** Draws one set of parameters; always consumes exactly 7 numbers, so the stream stays aligned for any options. */
export function drawAugment(options: AugmentOptions, rng: Rng): AugmentDraw {
  const u = (m: number): number => (2 * rng.next() - 1) * m;
  const flip = rng.next() < options.flipProbability;
  const angle = (u(options.maxRotationDeg) * Math.PI) / 180;
  const [lo, hi] = options.scaleRange;
  const scale = lo + (hi - lo) * rng.next();
  return { flip, angle, scale, tx: u(options.maxTranslate), ty: u(options.maxTranslate), brightness: u(options.brightness), contrast: 1 + u(options.contrast) };
}

/**
 * Applies a random flip/rotation/zoom/shift (one affine warp, bilinear, edges replicated) and then
 * brightness/contrast (clamped to [0, 1]) to a CHW Float32 image. Deterministic for a given rng state.
 * Writes into `out` at `offset` (default: a new array) and returns it.
 */
export function augment(
  image: Float32Array,
  shape: ImageShape,
  options: AugmentOptions,
  rng: Rng,
  out: Float32Array = new Float32Array(image.length),
  offset = 0,
): Float32Array {
  const { channels: C, height: H, width: W } = shape;
  if (image.length !== C * H * W) {
    throw new ExpnetError('BAD_INPUT', `augment: image has ${image.length} values, shape ${C}×${H}×${W} needs ${C * H * W}`);
  }
  const d = drawAugment(options, rng);
  const plane = H * W;
  if (!d.flip && d.angle === 0 && d.scale === 1 && d.tx === 0 && d.ty === 0) {
    out.set(image, offset);
  } else {
    // Inverse map: output (x, y) → source = R(−angle)·((x, y) − c − t)/scale + c, mirrored when flipped.
    const cx = (W - 1) / 2;
    const cy = (H - 1) / 2;
    const cos = Math.cos(d.angle) / d.scale;
    const sin = Math.sin(d.angle) / d.scale;
    const tx = d.tx * W;
    const ty = d.ty * H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dx = x - cx - tx;
        const dy = y - cy - ty;
        let sx = cos * dx + sin * dy + cx;
        const sy = -sin * dx + cos * dy + cy;
        if (d.flip) sx = W - 1 - sx;
        const fx = Math.min(Math.max(sx, 0), W - 1);
        const fy = Math.min(Math.max(sy, 0), H - 1);
        const x0 = Math.min(Math.floor(fx), W - 2 < 0 ? 0 : W - 2);
        const y0 = Math.min(Math.floor(fy), H - 2 < 0 ? 0 : H - 2);
        const x1 = Math.min(x0 + 1, W - 1);
        const y1 = Math.min(y0 + 1, H - 1);
        const ax = fx - x0;
        const ay = fy - y0;
        for (let c = 0; c < C; c++) {
          const base = c * plane;
          const top = (image[base + y0 * W + x0] ?? 0) * (1 - ax) + (image[base + y0 * W + x1] ?? 0) * ax;
          const bottom = (image[base + y1 * W + x0] ?? 0) * (1 - ax) + (image[base + y1 * W + x1] ?? 0) * ax;
          out[offset + base + y * W + x] = top * (1 - ay) + bottom * ay;
        }
      }
    }
  }
  if (d.brightness !== 0 || d.contrast !== 1) {
    const n = image.length;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += out[offset + i] ?? 0;
    mean /= n;
    for (let i = 0; i < n; i++) {
      const v = ((out[offset + i] ?? 0) - mean) * d.contrast + mean + d.brightness;
      out[offset + i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  if (degradeEnabled(options.degrade)) degrade(out, C, H, W, options.degrade, rng, offset);
  return out;
}
