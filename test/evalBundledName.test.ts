import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClassifier } from '../src/eval/classifier.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL } from '../src/infer/modelBundle.js';

const bundled = existsSync(join(bundledModelDir(), `${DEFAULT_EXPRESSION_MODEL}.onnx`));

test('eval --model takes a bundled model by name; an unknown name lists the bundled ones', { skip: !bundled && 'no bundled model' }, async () => {
  const c = await openClassifier(DEFAULT_EXPRESSION_MODEL);
  try {
    assert.ok(c.labels.length >= 6);
    assert.equal(c.input.size, 48);
  } finally {
    await c.dispose();
  }
  await assert.rejects(openClassifier('no-such-model'), (e: Error) => /'no-such-model' not found \(bundled models: .*expnet-fer2013/.test(e.message) && !e.message.includes(bundledModelDir()));
});
