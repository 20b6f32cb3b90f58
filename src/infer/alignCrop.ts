/** The aligned gray face crop the expression net sees: a similarity warp of the photo onto a template. */
import type { Point } from '../faces/box.js';
import { alignmentPoints, FER_CROP_TEMPLATE, similarityTransform, invertSimilarity, type AlignTemplate } from '../faces/similarity.js';
import type { RgbPixels } from './readImage.js';

export { FER_CROP_TEMPLATE };

/** Luminance (Rec. 601) of the photo warped so the landmarks land on the template: size×size values in [0, 1]. */
export function alignedGrayCrop(img: RgbPixels, landmarks: readonly Point[], size: number, template: AlignTemplate = FER_CROP_TEMPLATE): Float32Array {
  const to = [template.leftEye, template.rightEye, template.mouth].map((p) => ({ x: p.x * size, y: p.y * size }));
  const s = invertSimilarity(similarityTransform(alignmentPoints(landmarks), to));
  const out = new Float32Array(size * size);
  const { width: W, height: H, data } = img;
  const lum = (x: number, y: number): number => {
    const cx = Math.min(Math.max(x, 0), W - 1);
    const cy = Math.min(Math.max(y, 0), H - 1);
    const i = 3 * (cy * W + cx);
    return 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // pixel centres in continuous coordinates, back to the photo
      const px = x + 0.5;
      const py = y + 0.5;
      const sx = s.a * px - s.b * py + s.tx - 0.5;
      const sy = s.b * px + s.a * py + s.ty - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const v = (1 - fy) * ((1 - fx) * lum(x0, y0) + fx * lum(x0 + 1, y0)) + fy * ((1 - fx) * lum(x0, y0 + 1) + fx * lum(x0 + 1, y0 + 1));
      out[y * size + x] = v / 255;
    }
  }
  return out;
}
