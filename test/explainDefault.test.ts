/**
 * `expnet explain`'s default map on the bundled models is never blank on a confident face. Plain Grad-CAM at
 * block 5 was all zero there (ExpNet's head is max-pool + flatten + FC: a weight per channel and position, so
 * the spatially averaged gradient cancels and Σ α_k A_k is negative everywhere); the default takes the
 * gradient per position (HiResCAM). Checked on the bundled astronaut (always) and on every face of a group
 * photo of the shared face photos (skipped without them).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../src/engine/native.js';
import { explainFaces } from '../src/eval/explain.js';
import { loadBundle } from '../src/infer/modelBundle.js';
import { readRgb } from '../src/infer/readImage.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import type { ExpNet } from '../src/nets/expNet.js';
import { loadExpNetOnnx } from '../src/nets/expNetFromOnnx.js';
import { noPhotos, photos } from './helpers/facePhotos.js';

const astronaut = join(packageRoot(), 'examples', 'astronaut.png');

for (const name of ['expnet-mix', 'expnet-fer2013']) {
  describe(`default explain map, bundled ${name}`, () => {
    let rec: Recognizer;
    let net: ExpNet;
    let labels: readonly string[];
    before(async () => {
      const bundle = loadBundle(undefined, name);
      assert.ok(bundle.card.config, 'the card has an ExpNet config');
      net = loadExpNetOnnx(bundle.expression, bundle.card.config);
      labels = bundle.card.labels;
      rec = await createRecognizer();
    });
    after(async () => {
      net.dispose();
      await rec.dispose();
    });

    const check = async (file: string, t: { diagnostic(s: string): void }): Promise<number> => {
      const faces = await explainFaces(rec, net, labels, await readRgb(file));
      for (const [i, f] of faces.entries()) {
        const m = Array.from(f.predicted.map);
        assert.deepEqual([f.height, f.width], [3, 3], 'block 5 is the default layer');
        assert.equal(Math.max(...m), 1, `face ${i + 1} (${f.predicted.label} ${f.predicted.probability.toFixed(2)}): an all-zero map`);
        assert.ok(Math.min(...m) < 1, `face ${i + 1}: a constant map`);
        const plain = await explainFaces(rec, net, labels, await readRgb(file), { method: 'gradcam' });
        t.diagnostic(`face ${i + 1}: ${f.predicted.label} ${f.predicted.probability.toFixed(2)}, map ${m.map((v) => v.toFixed(2)).join(' ')}; plain Grad-CAM max ${Math.max(...(plain[i]?.predicted.map ?? []))}`);
      }
      return faces.length;
    };

    test('the astronaut', async (t) => {
      assert.equal(await check(astronaut, t), 1);
    });
    test('every face of group/bbt4.jpg', { skip: noPhotos }, async (t) => {
      assert.ok((await check(join(photos, 'group', 'bbt4.jpg'), t)) >= 5);
    });
  });
}
