/**
 * The SSD anchors of face-api.js's MobileNetV1 detector for any input size: the TF object-detection API's
 * `create_ssd_anchors` (6 layers, scales 0.2…0.95, aspect ratios 1, 2, 1/2, 3, 1/3 plus the interpolated
 * scale at ratio 1, 3 boxes in the lowest layer) over a `MultipleGridAnchorGenerator` whose strides and offsets
 * follow the feature-map grids (stride 1/n, offset 0.5/n), in float32. At 512 it reproduces the bundled
 * `ssd_mobilenetv1.anchors.bin` (5118 × 4) to within 1.2e-7 (≤ 2 float32 ulps; 3,368 of 20,472 values differ
 * by that rounding), so the 512 detector keeps using the bundled file.
 */
import { ExpnetError } from '../errors.js';

const f = Math.fround;

/** Feature-map sides of the six SSD heads for a square input of `size` (TF 'SAME' convs: ceil(n / 2) per stride 2). */
export function ssdGrids(size: number): number[] {
  if (!Number.isInteger(size) || size < 64 || size % 32 !== 0) {
    throw new ExpnetError('BAD_CONFIG', `SSD input size: expected a multiple of 32 that is ≥ 64, got ${size}`);
  }
  const grids = [size / 16]; // conv11 (stride 16)
  let n = size / 32; // conv13 (stride 32)
  grids.push(n);
  for (let i = 0; i < 4; i++) grids.push((n = Math.ceil(n / 2)));
  return grids;
}

/** [scale, aspect ratio] of each box of each layer, in TF's order. */
function boxSpecs(): [number, number][][] {
  const layers = 6;
  const [minScale, maxScale] = [0.2, 0.95];
  const ratios = [1, 2, 0.5, 3, 0.3333];
  const scales = Array.from({ length: layers }, (_, i) => minScale + ((maxScale - minScale) * i) / (layers - 1));
  scales.push(1);
  return scales.slice(0, layers).map((scale, layer) =>
    layer === 0
      ? [[0.1, 1], [scale, 2], [scale, 0.5]]
      : [[scale, 1], [Math.sqrt(scale * (scales[layer + 1] ?? 1)), 1], ...ratios.slice(1).map((r): [number, number] => [scale, r])],
  );
}

/**
 * Anchors (ymin, xmin, ymax, xmax) relative to the input square, row by row, column by column, box by box.
 * The net's box regression is relative to the anchors' size in *pixels* of the 512 input it was trained at, so
 * the base anchor size is 512 / size (the generator's `base_anchor_size`): centres follow the size's grids,
 * sizes stay what they were at 512 in pixels. (With base 1 the boxes shrink by size/512 — measured.)
 */
export function ssdAnchors(size: number, trainedSize = 512): Float32Array {
  const grids = ssdGrids(size);
  const base = f(trainedSize / size);
  const specs = boxSpecs();
  const total = grids.reduce((a, n, l) => a + n * n * (specs[l]?.length ?? 0), 0);
  const out = new Float32Array(total * 4);
  let k = 0;
  grids.forEach((n, l) => {
    const boxes = (specs[l] ?? []).map(([s, r]) => {
      const root = f(Math.sqrt(f(r)));
      return { h: f(f(f(s) / root) * base), w: f(f(f(s) * root) * base) };
    });
    const stride = f(1 / n);
    const offset = f(0.5 * stride);
    for (let y = 0; y < n; y++) {
      const cy = f(f(y * stride) + offset);
      for (let x = 0; x < n; x++) {
        const cx = f(f(x * stride) + offset);
        for (const b of boxes) {
          out[k++] = f(cy - f(0.5 * b.h));
          out[k++] = f(cx - f(0.5 * b.w));
          out[k++] = f(cy + f(0.5 * b.h));
          out[k++] = f(cx + f(0.5 * b.w));
        }
      }
    }
  });
  return out;
}
