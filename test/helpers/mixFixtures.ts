/** Two small labelled synthetic sets with official splits, and a folder of unlabelled faces, for multi-data runs. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeSyntheticFaces } from './syntheticFaces.js';

export interface MixFixture {
  /** Manifest with split Training / PublicTest (every 5th image is PublicTest). */
  alpha: string;
  /** Manifest with split Train / Val / PrivateTest and some contempt rows (dropped from the basic 7). */
  beta: string;
  /** A flat folder of face images without labels. */
  faces: string;
  facesCount: number;
}

/** Rewrites a synthetic manifest with a split column (and optional relabelling) chosen per row. */
function withSplits(manifest: string, row: (i: number) => { split: string; label?: string }): void {
  const [, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
  const out = rows.map((r, i) => {
    const [path, label, subject] = r.split(',');
    const o = row(i);
    return `${path},${o.label ?? label},${subject},${o.split}`;
  });
  writeFileSync(manifest, ['path,label,subject,split', ...out].join('\n') + '\n');
}

export async function writeMixFixture(): Promise<MixFixture> {
  const a = await writeSyntheticFaces(10, 4);
  withSplits(a.manifest, (i) => ({ split: i % 5 === 0 ? 'PublicTest' : 'Training' }));
  const b = await writeSyntheticFaces(8, 4);
  withSplits(b.manifest, (i) => ({ split: i % 6 === 0 ? 'Val' : i % 6 === 1 ? 'PrivateTest' : 'Train', ...(i % 7 === 3 ? { label: 'contempt' } : {}) }));
  const faces = mkdtempSync(join(tmpdir(), 'expnet-faces-'));
  mkdirSync(join(faces, 'nested'));
  const src = dirname(b.manifest);
  let n = 0;
  for (const label of ['happy', 'sadness', 'surprise'])
    for (let i = 0; i < 6; i++) {
      copyFileSync(join(src, label, `img${i}.png`), join(faces, i % 2 ? 'nested' : '.', `${label}-${i}.png`));
      n++;
    }
  return { alpha: a.manifest, beta: b.manifest, faces, facesCount: n };
}
