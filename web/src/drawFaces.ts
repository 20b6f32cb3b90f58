/** Boxes, labels and probability bars over the frame on a 2d canvas. */
import type { ExpressionLabel } from '../../src/data/labels.js';
import type { WebFace } from './webRecognizer.js';

const COLOURS: Record<string, string> = {
  anger: '#e53935', disgust: '#8e24aa', fear: '#5e35b1', happy: '#fdd835', sadness: '#1e88e5', surprise: '#fb8c00', neutral: '#9e9e9e',
};

export function drawFaces(ctx: CanvasRenderingContext2D, faces: readonly WebFace[], labels: readonly ExpressionLabel[]): void {
  const unit = Math.max(12, Math.round(ctx.canvas.width / 50));
  ctx.lineWidth = Math.max(2, unit / 6);
  ctx.font = `${unit}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const f of faces) {
    const colour = COLOURS[f.label] ?? '#00e676';
    ctx.strokeStyle = colour;
    ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    const title = `${f.label} ${(100 * f.confidence).toFixed(0)}%`;
    ctx.fillStyle = 'rgba(0,0,0,0.6)';
    ctx.fillRect(f.box.x, f.box.y - unit * 1.3, ctx.measureText(title).width + unit * 0.6, unit * 1.3);
    ctx.fillStyle = colour;
    ctx.fillText(title, f.box.x + unit * 0.3, f.box.y - unit * 1.15);
    // probability bars under the box (or inside it when the box reaches the bottom)
    const barW = Math.max(f.box.width, unit * 8);
    const rowH = unit * 1.1;
    let y = f.box.y + f.box.height + 4;
    if (y + rowH * labels.length > ctx.canvas.height) y = Math.max(0, ctx.canvas.height - rowH * labels.length);
    ctx.fillStyle = 'rgba(0,0,0,0.55)';
    ctx.fillRect(f.box.x, y, barW, rowH * labels.length);
    labels.forEach((label, i) => {
      const p = f.expressions[label] ?? 0;
      ctx.fillStyle = COLOURS[label] ?? '#00e676';
      ctx.fillRect(f.box.x + unit * 5, y + i * rowH + rowH * 0.2, (barW - unit * 5.2) * p, rowH * 0.6);
      ctx.fillStyle = '#fff';
      ctx.fillText(label, f.box.x + unit * 0.2, y + i * rowH + rowH * 0.05);
    });
  }
}
