/** The neuron study as a picture: one row per unit, its top-k images with the unit's activation map over each. */
import sharp, { type OverlayOptions } from 'sharp';
import type { ImageSet } from '../train/imageSet.js';
import { overlayPng } from './heatmap.js';
import type { LayerActivations } from './layerActivations.js';
import type { NeuronStudy } from './neurons.js';

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The gray image of row `r` (the first channel; size×size in [0, 1]). */
function grayOf(set: ImageSet, r: number): Float32Array {
  const { channels, height, width } = set.shape;
  const plane = height * width;
  return set.x.slice(r * channels * plane, r * channels * plane + plane);
}

/**
 * PNG grid: per studied unit a caption (unit, expression purity and label, subject purity and id) and its
 * top-k images, each overlaid with the unit's map scaled by the unit's largest activation among them.
 */
export async function neuronGridPng(study: NeuronStudy, acts: LayerActivations, set: ImageSet, title: string, tile = 96): Promise<Buffer> {
  const gap = 4;
  const caption = 20;
  const head = 30;
  const size = set.shape.width;
  const scale = Math.max(1, Math.round(tile / size));
  const W = gap + study.k * (tile + gap);
  const rowH = caption + tile + gap;
  const H = head + study.units.length * rowH + gap;
  const cells = acts.height * acts.width;
  const layers: OverlayOptions[] = [];
  const texts = [`<text x="${gap}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`];
  for (const [r, u] of study.units.entries()) {
    const top = head + r * rowH;
    texts.push(
      `<text x="${gap}" y="${top + 15}" font-size="12">unit ${u.unit}: expression ${(100 * u.expression.value).toFixed(0)}% ${esc(u.expression.label)} · subject ${(100 * u.subject.value).toFixed(0)}% ${esc(u.subject.label)}</text>`,
    );
    const maps = u.top.map((img) => acts.data.subarray((img * acts.units + u.unit) * cells, (img * acts.units + u.unit + 1) * cells));
    const max = maps.reduce((m, a) => a.reduce((x, v) => Math.max(x, v), m), 0);
    for (const [j, img] of u.top.entries()) {
      const map = Float32Array.from(maps[j] ?? [], (v) => (max > 0 ? Math.max(0, v) / max : 0));
      const png = await overlayPng(grayOf(set, img), size, map, acts.height, acts.width, scale);
      layers.push({ input: await sharp(png).resize(tile, tile, { kernel: 'nearest' }).png().toBuffer(), left: gap + j * (tile + gap), top: top + caption });
    }
  }
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" fill="#222">${texts.join('')}</svg>`), left: 0, top: 0 });
  return sharp({ create: { width: W, height: H, channels: 3, background: '#ffffff' } }).composite(layers).png().toBuffer();
}
