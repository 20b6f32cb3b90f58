/** 68 facial landmarks with the ported face-api.js net, mapped back to image pixels as face-api does. */
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import type { Landmarks68 } from '../nets/landmarks68.js';
import { LANDMARKS68_INPUT } from '../nets/landmarks68.js';
import type { Box, Point } from './box.js';
import { landmarksToCrop } from './landmarksToCrop.js';
import { toNetInput } from './netInput.js';
import { cropImage, imageSize } from './rgbImage.js';

export type { Point } from './box.js';
export { landmarksToCrop } from './landmarksToCrop.js';

/**
 * 68 landmarks (iBUG order) in pixels of `image` [1, 3, H, W] (RGB, 0..255). With a `box` (a detection), the
 * net sees the box's crop (clipped and floored, as face-api's `extractFaceTensors`) and the points are shifted
 * by the unclipped `box.x, box.y` (as face-api's `withFaceLandmarks`); without, the whole image is the crop.
 * Returns null when the box lies outside the image.
 */
export function detectLandmarks(net: Landmarks68, image: Tensor, box?: Box): Point[] | null {
  if (image.rank !== 4 || image.shape[0] !== 1 || image.shape[1] !== 3) {
    throw new ExpnetError('BAD_INPUT', `detectLandmarks: expected one RGB image tensor [1, 3, H, W], got [${image.shape.join(', ')}]`);
  }
  const res = noGrad(() =>
    tidy(() => {
      const region = box ? cropImage(image, box) : { crop: image, box: { x: 0, y: 0, ...imageSize(image) } };
      if (!region) return null;
      const input = toNetInput(region.crop, LANDMARKS68_INPUT, true);
      return { raw: net.forward(input.tensor).floats(), width: region.box.width, height: region.box.height };
    }),
  );
  if (!res) return null;
  const dx = box?.x ?? 0;
  const dy = box?.y ?? 0;
  return landmarksToCrop(res.raw, res.width, res.height, LANDMARKS68_INPUT).map((p) => ({ x: p.x + dx, y: p.y + dy }));
}
