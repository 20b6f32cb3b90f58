/**
 * Landmark alignment: the similarity onto a canonical template (similarity.ts, plain JS, re-exported here) and
 * an image warp to the aligned crop with F.affineGrid + F.gridSample.
 *
 * Coordinates are continuous pixel coordinates: an image of W×H pixels spans [0, W]×[0, H], pixel (i, j) has
 * its centre at (i + 0.5, j + 0.5) — the convention of face-api's boxes and landmarks, and the one for which
 * PyTorch's normalised coordinates (align_corners = false) are simply u = 2x/W − 1, v = 2y/H − 1.
 */
import { tensor } from '../engine/creation.js';
import { affineGrid, gridSample } from '../engine/functional.js';
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import type { Point } from './box.js';
import { imageSize } from './rgbImage.js';
import {
  alignmentPoints,
  DEFAULT_ALIGN_TEMPLATE,
  invertSimilarity,
  similarityToAffine,
  similarityTransform,
  type Affine,
  type AlignTemplate,
  type Similarity,
} from './similarity.js';

export * from './similarity.js';

/**
 * Warps [N, C, H, W] to [N, C, outHeight, outWidth]: output pixel position p (continuous coordinates) takes
 * the input at `outputToInput(p)`, bilinear, zeros outside (or the border value with `padding: 'border'`).
 */
export function warpAffine(
  image: Tensor,
  outputToInput: Affine,
  outWidth: number,
  outHeight: number,
  padding: 'zeros' | 'border' = 'zeros',
): Tensor {
  const { width, height } = imageSize(image);
  const [m00, m01, m02, m10, m11, m12] = outputToInput;
  // theta = N_in · M · N_out⁻¹ with N(x, y) = (2x/W − 1, 2y/H − 1) and N_out⁻¹(u, v) = ((u + 1)·W'/2, (v + 1)·H'/2).
  const row = (k0: number, k1: number, k2: number, size: number): number[] => {
    const [c0, c1] = [(k0 * outWidth) / 2, (k1 * outHeight) / 2];
    return [(2 / size) * c0, (2 / size) * c1, (2 / size) * (c0 + c1 + k2) - 1];
  };
  const theta = [...row(m00, m01, m02, width), ...row(m10, m11, m12, height)];
  const n = image.shape[0] ?? 1;
  const c = image.shape[1] ?? 1;
  return noGrad(() =>
    tidy(() => {
      const t = tensor(theta, [1, 2, 3]).expand([n, 2, 3]).contiguous();
      const grid = affineGrid(t, [n, c, outHeight, outWidth], false);
      return gridSample(image.dtype === 'float32' ? image : image.to('float32'), grid, 'bilinear', padding, false);
    }),
  );
}

export interface AlignedFace {
  /** [N, C, size, size]. */
  crop: Tensor;
  /** Image → crop coordinates. */
  transform: Similarity;
}

export interface AlignOptions {
  template?: AlignTemplate;
  /** What is sampled outside the image: the nearest border pixel (default) or zeros. */
  padding?: 'zeros' | 'border';
}

/**
 * The face aligned to `template` in a size×size crop: the similarity taking the landmarks' eye and mouth
 * centres onto the template (× size), and the image warped by its inverse.
 */
export function alignFace(image: Tensor, landmarks: readonly Point[], size: number, options: AlignOptions = {}): AlignedFace {
  const template = options.template ?? DEFAULT_ALIGN_TEMPLATE;
  if (!Number.isInteger(size) || size < 1) throw new ExpnetError('BAD_INPUT', `alignFace: expected a positive integer size, got ${size}`);
  const dst = [template.leftEye, template.rightEye, template.mouth].map((p) => ({ x: p.x * size, y: p.y * size }));
  const transform = similarityTransform(alignmentPoints(landmarks), dst);
  const crop = warpAffine(image, similarityToAffine(invertSimilarity(transform)), size, size, options.padding ?? 'border');
  return { crop, transform };
}
