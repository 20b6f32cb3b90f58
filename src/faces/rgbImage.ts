/** RGB images as plain data (HWC, 0..255) and as engine tensors ([1, 3, H, W] float32, 0..255). */
import { tensor } from '../engine/creation.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import type { Box } from './box.js';
import { clipBox } from './box.js';

/** An RGB image: row-major HWC, values 0..255. */
export interface RgbImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
}

/** [1, 3, H, W] float32 tensor (values 0..255) of an HWC RGB image. */
export function rgbToTensor(img: RgbImage): Tensor {
  const { width: w, height: h, data } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || data.length !== w * h * 3) {
    throw new ExpnetError('BAD_IMAGE', `rgbToTensor: expected ${w}×${h}×3 = ${w * h * 3} RGB values, got ${data.length}`);
  }
  const plane = w * h;
  const chw = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    chw[p] = data[3 * p] as number;
    chw[plane + p] = data[3 * p + 1] as number;
    chw[2 * plane + p] = data[3 * p + 2] as number;
  }
  return tensor(chw, [1, 3, h, w]);
}

/** Width and height of an image tensor [N, C, H, W]. */
export function imageSize(image: Tensor): { width: number; height: number } {
  if (image.rank !== 4) throw new ExpnetError('BAD_INPUT', `expected an image tensor [N, C, H, W], got [${image.shape.join(', ')}]`);
  return { width: image.shape[3] ?? 0, height: image.shape[2] ?? 0 };
}

/**
 * The face region of an image tensor [N, C, H, W] as face-api's `extractFaceTensors` cuts it: the box clipped
 * to the image, then floored. Returns null when nothing of the box lies inside the image.
 */
export function cropImage(image: Tensor, box: Box): { crop: Tensor; box: Box } | null {
  const { width, height } = imageSize(image);
  const c = clipBox(box, width, height);
  if (c.width <= 0 || c.height <= 0) return null;
  return { crop: image.narrow(2, c.y, c.height).narrow(3, c.x, c.width), box: c };
}
