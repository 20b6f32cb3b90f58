/** Draws the annotation layout (annotationLayout.ts: boxes, panels, bars) onto an image as an SVG overlay → PNG. */
import sharp from 'sharp';
import { DEFAULT_COLOUR, LABEL_COLOURS, layoutAnnotations, type AnnotationLayout, type LayoutText } from './annotationLayout.js';
import type { ImageResult } from './recognizer.js';
import type { RgbPixels } from './readImage.js';

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The layout of a result's faces on its image. */
export function resultLayout(result: ImageResult, labels: readonly string[] = Object.keys(result.faces[0]?.expressions ?? {})): AnnotationLayout {
  return layoutAnnotations(result, result.faces, labels);
}

export function overlaySvg(l: AnnotationLayout): string {
  const parts: string[] = [];
  const text = (t: LayoutText, fill: string): string => `<text x="${t.x}" y="${t.y + l.font * 0.85}" font-size="${l.font}" fill="${fill}">${esc(t.text)}</text>`;
  for (const f of l.faces) {
    const colour = LABEL_COLOURS[f.label] ?? DEFAULT_COLOUR;
    parts.push(`<rect x="${f.box.x}" y="${f.box.y}" width="${f.box.width}" height="${f.box.height}" fill="none" stroke="${colour}" stroke-width="${l.lineWidth}"/>`);
    if (f.tag) parts.push(text(f.tag, colour));
    const p = f.panel;
    parts.push(`<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="black" fill-opacity="0.6" rx="${l.font * 0.2}"/>`, text(f.header, colour));
    for (const r of f.rows) {
      parts.push(`<rect x="${r.track.x}" y="${r.track.y}" width="${r.track.width}" height="${r.track.height}" fill="#ffffff" fill-opacity="0.15"/>`);
      parts.push(`<rect x="${r.track.x}" y="${r.track.y}" width="${r.track.width * r.probability}" height="${r.track.height}" fill="${LABEL_COLOURS[r.label] ?? DEFAULT_COLOUR}"/>`);
      parts.push(text(r.text, 'white'));
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" font-family="DejaVu Sans, sans-serif">${parts.join('')}</svg>`;
}

/** The image with its faces annotated, as PNG (wider than the image when the panels need a side strip). */
export async function annotatePng(img: RgbPixels, result: ImageResult): Promise<Buffer> {
  const l = resultLayout(result);
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .extend({ right: l.width - img.width, bottom: l.height - img.height, background: '#202020' })
    .composite([{ input: Buffer.from(overlaySvg(l)), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
