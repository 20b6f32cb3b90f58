/** Saving the page's result: the detections as JSON and the annotated canvas as PNG, as downloads. */

/** Offers `blob` as a download named `name` (a temporary link, clicked, then revoked). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The result as pretty-printed JSON, with the model that made it. */
export function resultJson(result: object, model: string): Blob {
  return new Blob([`${JSON.stringify({ model, ...result }, null, 2)}\n`], { type: 'application/json' });
}

/** The canvas (photo + boxes + panels) as a PNG. */
export function canvasPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'));
}

/** A file name for a result of `source` ('photo.jpg' → 'photo.expnet'), without extension. */
export function resultName(source: string): string {
  const base = source.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
  return `${base || 'frame'}.expnet`;
}
