/** Draws boxes, top labels and probability bars onto an image (SVG overlay composited by sharp) → PNG. */
import sharp from 'sharp';
import type { ImageResult } from './recognizer.js';
import type { RgbPixels } from './readImage.js';

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function overlaySvg(result: ImageResult): string {
  const { width: W, height: H } = result;
  const parts: string[] = [];
  for (const f of result.faces) {
    const { x, y, width: w, height: h } = f.box;
    const s = Math.max(10, Math.round(Math.min(W, H) / 45));
    parts.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#00e0ff" stroke-width="${Math.max(2, s / 5)}"/>`);
    parts.push(`<text x="${x}" y="${Math.max(s, y - s / 3)}" font-family="sans-serif" font-size="${s}" fill="#00e0ff">${esc(f.label)} ${(100 * f.confidence).toFixed(0)}%</text>`);
    const bx = x + w + s / 2 > W - 6 * s ? Math.max(0, x - 6.5 * s) : x + w + s / 2;
    Object.entries(f.expressions).forEach(([label, p], i) => {
      const by = y + i * (s + 2);
      parts.push(`<rect x="${bx}" y="${by}" width="${5 * s}" height="${s}" fill="black" fill-opacity="0.5"/>`);
      parts.push(`<rect x="${bx}" y="${by}" width="${5 * s * p}" height="${s}" fill="#ffb000"/>`);
      parts.push(`<text x="${bx + 2}" y="${by + s * 0.8}" font-family="sans-serif" font-size="${s * 0.8}" fill="white">${esc(label)}</text>`);
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

export async function annotatePng(img: RgbPixels, result: ImageResult): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .composite([{ input: Buffer.from(overlaySvg(result)), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
