/**
 * A video frame with its tracked faces drawn in the photos' layout (annotationLayout.ts, annotate.ts) plus each
 * face's track id in its box; the frame keeps its size (a layout that needs a side strip is scaled to fit).
 */
import sharp from 'sharp';
import { layoutAnnotations, tagTracks } from './annotationLayout.js';
import { overlaySvg } from './annotate.js';
import type { TrackedFace } from './faceTracker.js';
import type { RgbPixels } from './readImage.js';

export async function annotateFrame(img: RgbPixels, faces: readonly TrackedFace[], labels: readonly string[]): Promise<RgbPixels> {
  if (faces.length === 0) return img;
  const l = tagTracks(layoutAnnotations(img, faces, labels), faces);
  let s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } });
  if (l.width > img.width || l.height > img.height) {
    const wide = await s
      .extend({ right: l.width - img.width, bottom: l.height - img.height, background: '#202020' })
      .composite([{ input: Buffer.from(overlaySvg(l)), top: 0, left: 0 }])
      .raw()
      .toBuffer();
    s = sharp(wide, { raw: { width: l.width, height: l.height, channels: 3 } }).resize(img.width, img.height, { fit: 'contain', background: '#202020' });
  } else s = s.composite([{ input: Buffer.from(overlaySvg(l)), top: 0, left: 0 }]);
  const data = await s.removeAlpha().raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: img.width, height: img.height };
}
