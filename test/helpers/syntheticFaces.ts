/** A tiny synthetic "expression" data set written in the generic layouts (class folders + CSV manifest). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export const SYNTHETIC_LABELS = ['happy', 'sadness', 'surprise'] as const;

/** 48×48 gray image whose class is where a bright blob sits (left / right / bottom), with seeded noise. */
function image(cls: number, seed: number): Buffer {
  const px = Buffer.alloc(48 * 48);
  let s = seed * 2654435761;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 4294967296;
  };
  const [cx, cy] = [[12, 20], [36, 20], [24, 38]][cls] as [number, number];
  for (let y = 0; y < 48; y++)
    for (let x = 0; x < 48; x++) {
      const d = Math.hypot(x - cx - (rnd() - 0.5) * 2, y - cy);
      px[y * 48 + x] = Math.max(0, Math.min(255, Math.round(60 + 150 * Math.exp(-(d * d) / 40) + 30 * rnd())));
    }
  return px;
}

/** Writes `perClass` images of each class for `subjects` subjects; returns the root and the manifest path. */
export async function writeSyntheticFaces(perClass = 12, subjects = 4): Promise<{ root: string; manifest: string }> {
  const root = mkdtempSync(join(tmpdir(), 'expnet-synth-'));
  const rows = ['path,label,subject'];
  let k = 0;
  for (const [c, label] of SYNTHETIC_LABELS.entries()) {
    mkdirSync(join(root, label));
    for (let i = 0; i < perClass; i++) {
      const rel = `${label}/img${i}.png`;
      await sharp(image(c, ++k), { raw: { width: 48, height: 48, channels: 1 } }).png().toFile(join(root, rel));
      rows.push(`${rel},${label},S${(i % subjects) + 1}`);
    }
  }
  const manifest = join(root, 'manifest.csv');
  writeFileSync(manifest, rows.join('\n') + '\n');
  return { root, manifest };
}
