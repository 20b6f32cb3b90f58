/** The shared annotation layout (src/infer/annotationLayout.ts, as the CLI's PNGs) drawn on a 2d canvas. */
import { DEFAULT_COLOUR, LABEL_COLOURS, type AnnotationLayout, type LayoutText } from '../../src/infer/annotationLayout.js';

/** Draws `layout` over what the canvas shows (the canvas is sized to layout.width × layout.height). */
export function drawLayout(ctx: CanvasRenderingContext2D, l: AnnotationLayout): void {
  ctx.lineWidth = l.lineWidth;
  ctx.font = `${l.font}px "DejaVu Sans", system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const text = (t: LayoutText, colour: string): void => {
    ctx.fillStyle = colour;
    ctx.fillText(t.text, t.x, t.y);
  };
  for (const f of l.faces) {
    const colour = LABEL_COLOURS[f.label] ?? DEFAULT_COLOUR;
    ctx.strokeStyle = colour;
    ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    if (f.tag) text(f.tag, colour);
    ctx.fillStyle = 'rgba(0,0,0,0.6)';
    ctx.fillRect(f.panel.x, f.panel.y, f.panel.width, f.panel.height);
    text(f.header, colour);
    for (const r of f.rows) {
      ctx.fillStyle = 'rgba(255,255,255,0.15)';
      ctx.fillRect(r.track.x, r.track.y, r.track.width, r.track.height);
      ctx.fillStyle = LABEL_COLOURS[r.label] ?? DEFAULT_COLOUR;
      ctx.fillRect(r.track.x, r.track.y, r.track.width * r.probability, r.track.height);
      text(r.text, '#fff');
    }
  }
}
