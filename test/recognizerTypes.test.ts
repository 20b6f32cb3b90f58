/**
 * The Recognizer's results are typed by the model's labels, and one bad input does not sink a batch.
 * The type checks below are compiled by the normal build (they are never run): before the labels were in the
 * types, `const p: number = f.expressions.happy` did not compile (number | undefined) and contempt was a key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../src/engine/native.js';
import { createRecognizer, ExpnetError, type BatchResult, type BundledExpression, type Expression, type Face, type Recognizer } from '../src/index.js';
import { BUNDLED_EXPRESSION_MODELS, BUNDLED_EXPRESSIONS } from '../src/infer/bundleFiles.js';
import { loadBundle } from '../src/infer/modelBundle.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(): T | undefined => undefined;

/** Compile-time only. */
export async function typeChecks(): Promise<void> {
  const rec = await createRecognizer();
  const f = (await rec.detect('photo.jpg')).faces[0];
  if (!f) return;
  const happy: number = f.expressions.happy; // a number: no `!`, no `?? 0`
  // @ts-expect-error the bundled models have no contempt
  void f.expressions.contempt;
  expectType<Equal<typeof f.label, BundledExpression>>();
  expectType<Equal<typeof rec, Recognizer<BundledExpression>>>();
  expectType<Equal<Awaited<ReturnType<typeof createRecognizer<'happy'>>>, Recognizer<'happy'>>>();
  const fer = await createRecognizer({ expressionModel: 'expnet-fer2013', detectorSize: 512 });
  expectType<Equal<typeof fer, Recognizer<BundledExpression>>>();
  // a model of one's own: its labels, checked when created
  const two = await createRecognizer({ modelDir: 'my-models', expressionModel: 'mine', labels: ['happy', 'sadness'] });
  const g = (await two.detect(new Uint8Array(0))).faces[0];
  expectType<Equal<NonNullable<typeof g>['label'], 'happy' | 'sadness'>>();
  const sad: number | undefined = g?.expressions.sadness;
  // @ts-expect-error not a label of that model
  void g?.expressions.surprise;
  // an 8-class model: contempt is there
  const eight = await createRecognizer({ modelDir: 'm', labels: ['anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise'] });
  const h = (await eight.detectPixels({ data: new Uint8Array(3), width: 1, height: 1 }))[0];
  const contempt: number | undefined = h?.expressions.contempt;
  expectType<Equal<NonNullable<typeof h>['expressions']['contempt'], number>>();
  // labels unknown to the types: any subset, honestly optional
  const other = await createRecognizer({ modelDir: 'm' });
  const o = (await other.detect('x.png')).faces[0];
  expectType<Equal<NonNullable<typeof o>['expressions']['happy'], number | undefined>>();
  expectType<Equal<NonNullable<typeof o>['label'], Expression>>();
  // a batch: a result or an error per input
  for (const r of await rec.detectBatch(['a.png', 'b.png'])) {
    if (r.error) {
      const e: ExpnetError = r.error;
      void e;
    } else {
      const first: Face<BundledExpression> | undefined = r.faces[0];
      void first;
    }
  }
  expectType<Equal<Awaited<ReturnType<typeof rec.detectBatch>>, BatchResult<BundledExpression>[]>>();
  void [happy, sad, contempt];
}

const astronaut = join(packageRoot(), 'examples', 'astronaut.png');

describe('Recognizer results typed by the labels', () => {
  let rec: Recognizer<BundledExpression>;
  before(async () => {
    rec = await createRecognizer();
  });
  after(async () => {
    await rec.dispose();
  });

  test('every bundled card has exactly the labels the types promise (no contempt)', () => {
    for (const name of BUNDLED_EXPRESSION_MODELS) assert.deepEqual([...loadBundle(undefined, name).labels].sort(), [...BUNDLED_EXPRESSIONS].sort(), name);
  });

  test('a face of the default model has every bundled label as a number, and no other', async () => {
    const f = (await rec.detect(astronaut)).faces[0];
    assert.ok(f);
    assert.deepEqual(Object.keys(f.expressions).sort(), [...BUNDLED_EXPRESSIONS].sort());
    assert.ok(f.expressions.happy > 0.5, `happy ${f.expressions.happy}`);
    assert.equal(f.label, 'happy');
  });

  test('the labels option is checked against the card', async () => {
    await assert.rejects(createRecognizer({ labels: ['happy', 'sadness'] }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && /labels \[happy, sadness\] are not the labels of expression model .*expnet-accurate\.onnx \[anger, disgust/.test(e.message));
    const again = await createRecognizer({ labels: [...BUNDLED_EXPRESSIONS].reverse() });
    await again.dispose();
  });

  test('detectBatch: a missing file and a non-image are error items, the other inputs (a plain Uint8Array too) are recognised', async () => {
    const bytes = new Uint8Array(readFileSync(astronaut));
    const missing = join(packageRoot(), 'examples', 'no-such-photo.png');
    const r = await rec.detectBatch([astronaut, missing, new Uint8Array([1, 2, 3, 4]), bytes]);
    assert.equal(r.length, 4);
    assert.equal(r[0]?.error, undefined);
    assert.equal(r[0]?.faces?.length, 1);
    assert.equal(r[1]?.input, missing);
    assert.ok(r[1]?.error instanceof ExpnetError && r[1].error.code === 'NOT_FOUND', String(r[1]?.error));
    assert.ok(r[2]?.error instanceof ExpnetError && r[2].error.code === 'BAD_IMAGE', String(r[2]?.error));
    const last = r[3];
    assert.ok(last && !last.error && last.faces[0]?.label === 'happy');
    await assert.rejects(rec.detectBatch([astronaut, missing], { failFast: true }), (e: unknown) => e instanceof ExpnetError && e.code === 'NOT_FOUND');
  });
});
