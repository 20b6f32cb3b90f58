/**
 * Unlabelled faces for stage (a): every photo of a folder through the photo pipeline's detector and landmarks,
 * the most confident face aligned onto the expression model's template (the FER2013 framing the loader expects of
 * an unlabelled set) and written as a gray PNG. Photos without a face are listed and skipped.
 *
 *   node dist/bench/alignFolder.js <photos dir> <out dir> [--size 96] [--pad 0.5] [--min-score 0.5] [--limit N]
 *
 * The output folder is what `--data <out dir> --format unlabelled` reads. Existing outputs are kept (a re-run
 * resumes); each PNG is written to a temporary name and renamed, so an interrupted run leaves no half file.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { alignedGrayCrop } from '../src/infer/alignCrop.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { readRgb } from '../src/infer/readImage.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '96' }, pad: { type: 'string', default: '0.5' }, 'min-score': { type: 'string', default: '0.5' }, limit: { type: 'string' } },
});
const [src, out] = positionals;
if (src === undefined || out === undefined) {
  console.error('usage: node dist/bench/alignFolder.js <photos dir> <out dir> [--size 96] [--pad 0.5] [--min-score 0.5] [--limit N]');
  process.exit(2);
}
const size = Number(values.size);
const minScore = Number(values['min-score']);
const pad = Number(values.pad);
if (!(pad >= 0 && pad <= 2)) throw new Error(`--pad must be in [0, 2], got ${values.pad}`);
if (!Number.isInteger(size) || size < 16 || size > 512) throw new Error(`--size must be an integer in [16, 512], got ${values.size}`);
if (!(minScore >= 0 && minScore <= 1)) throw new Error(`--min-score must be in [0, 1], got ${values['min-score']}`);

const IMAGE = new Set(['.jpg', '.jpeg', '.png', '.webp']);
function list(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return list(p);
    return IMAGE.has(extname(n).toLowerCase()) ? [p] : [];
  });
}
const files = list(src).slice(0, values.limit === undefined ? undefined : Number(values.limit));
mkdirSync(out, { recursive: true });
const rec = await createRecognizer({ detector: { minConfidence: minScore } });
const t0 = Date.now();
let written = 0;
let kept = 0;
const noFace: string[] = [];
const failed: string[] = [];
for (const [k, f] of files.entries()) {
  // sub-folders flattened into the name (a/b.jpg → a__b.png), so equal names in two folders stay apart
  const dst = join(out, `${relative(src, f).slice(0, -extname(f).length).split(sep).join('__')}.png`);
  if (existsSync(dst)) {
    kept++;
    continue;
  }
  try {
    // the photos are tight face crops (the face fills the frame): a gray border of `pad`× the side lets the
    // detector see a whole face, as bench/crop-geometry.ts does for the data sets' crops
    const photo = await readRgb(f);
    const border = Math.round(pad * Math.max(photo.width, photo.height));
    const ext = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
      .extend({ top: border, bottom: border, left: border, right: border, background: { r: 128, g: 128, b: 128 } })
      .raw().toBuffer({ resolveWithObject: true });
    const pixels = { width: ext.info.width, height: ext.info.height, data: new Uint8Array(ext.data.buffer, ext.data.byteOffset, ext.data.length) };
    const { faces } = await rec.detect({ ...pixels, channels: 3 });
    const best = faces.reduce<(typeof faces)[number] | undefined>((b, x) => (b === undefined || x.score > b.score ? x : b), undefined);
    if (best === undefined || best.landmarks.length !== 68) {
      noFace.push(f);
      continue;
    }
    const g = alignedGrayCrop(pixels, best.landmarks, size);
    const bytes = Buffer.from(Uint8Array.from(g, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
    const tmp = `${dst}.tmp`;
    writeFileSync(tmp, await sharp(bytes, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer());
    renameSync(tmp, dst);
    written++;
  } catch (err) {
    const msg = (err as Error).message;
    failed.push(msg.includes(f) ? msg : `${f}: ${msg}`);
  }
  if ((k + 1) % 500 === 0) console.log(`${k + 1}/${files.length} photos, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
await rec.dispose();
console.log(`${files.length} photos: ${written} crops written, ${kept} already there, ${noFace.length} without a face, ${failed.length} failed (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
for (const f of failed.slice(0, 20)) console.log(`  failed: ${f}`);
