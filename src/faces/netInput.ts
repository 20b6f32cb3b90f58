/**
 * face-api.js's input preparation for tensors (`NetInput.toBatchTensor`): zero-pad to a square (bottom/right
 * for the detectors, centred for landmarks/recognition), then the legacy TF bilinear resize
 * (`resizeBilinear(alignCorners=false, halfPixelCenters=false)`: src = dst·in/out, no half-pixel offset),
 * as XNNPACK computes it in float32 on tfjs's wasm backend. See docs/FACEAPI-NETS.md §0.
 */
import { labels, tensor } from '../engine/creation.js';
import { pad } from '../engine/functional.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { imageSize } from './rgbImage.js';

/** The size of the image inside the padded square once resized to `inputSize` (face-api `computeReshapedDimensions`). */
export function reshapedDimensions(width: number, height: number, inputSize: number): { width: number; height: number } {
  const scale = inputSize / Math.max(width, height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** Zero-pads [N, C, H, W] to a square: all padding bottom/right, or centred (the odd pixel goes after). */
export function padToSquare(x: Tensor, centred: boolean): Tensor {
  const { width, height } = imageSize(x);
  const diff = Math.abs(height - width);
  if (diff === 0) return x.clone();
  const after = Math.round(diff * (centred ? 0.5 : 1));
  const before = diff - after;
  return height > width ? pad(x, [before, after, 0, 0]) : pad(x, [0, 0, before, after]);
}

/** Source indices and float32 weights of the legacy mapping src = dst·(in/out) for one axis. */
function legacyAxis(inSize: number, outSize: number): { i0: number[]; i1: number[]; frac: Float32Array } {
  const scale = Math.fround(inSize / outSize);
  const i0: number[] = [];
  const i1: number[] = [];
  const frac = new Float32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.fround(d * scale);
    const lo = Math.min(Math.trunc(src), inSize - 1);
    i0.push(lo);
    i1.push(Math.min(lo + 1, inSize - 1));
    frac[d] = Math.fround(src - lo);
  }
  return { i0, i1, frac };
}

/** Legacy TF bilinear resize of [N, C, H, W] to [N, C, outH, outW] (columns first, then rows, in float32). */
export function resizeBilinearLegacy(x: Tensor, outHeight: number, outWidth: number): Tensor {
  const { width, height } = imageSize(x);
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < 1 || outWidth < 1) {
    throw new ExpnetError('BAD_INPUT', `resizeBilinearLegacy: expected a positive integer size, got ${outHeight}×${outWidth}`);
  }
  return tidy(() => {
    const cx = legacyAxis(width, outWidth);
    const cy = legacyAxis(height, outHeight);
    const left = x.indexSelect(3, labels(cx.i0));
    const cols = x.indexSelect(3, labels(cx.i1)).sub(left).mul(tensor(cx.frac, [1, 1, 1, outWidth])).add(left);
    const top = cols.indexSelect(2, labels(cy.i0));
    return cols.indexSelect(2, labels(cy.i1)).sub(top).mul(tensor(cy.frac, [1, 1, outHeight, 1])).add(top);
  });
}

export interface NetInput {
  /** [N, 3, S, S] RGB in [0, 1]: what the nets take. */
  tensor: Tensor;
  inputSize: number;
  /** The original image size. */
  width: number;
  height: number;
  /** The image's size inside the S×S square ({@link reshapedDimensions}). */
  reshaped: { width: number; height: number };
}

/**
 * An image tensor [N, 3, H, W] (RGB, 0..255) as face-api feeds it to a net of input size S: padded to a square
 * (`centred` for landmarks/recognition, bottom/right for the detectors), resized to S×S if needed, scaled to
 * [0, 1]. The caller owns `tensor`.
 */
export function toNetInput(image: Tensor, inputSize: number, centred: boolean): NetInput {
  const { width, height } = imageSize(image);
  if (image.shape[1] !== 3) throw new ExpnetError('BAD_INPUT', `toNetInput: expected 3 channels (RGB), got [${image.shape.join(', ')}]`);
  const t = tidy(() => {
    let x = padToSquare(image.to('float32'), centred);
    if ((x.shape[2] ?? 0) !== inputSize) x = resizeBilinearLegacy(x, inputSize, inputSize);
    return x.div(255);
  });
  return { tensor: t, inputSize, width, height, reshaped: reshapedDimensions(width, height, inputSize) };
}
