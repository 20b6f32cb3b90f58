import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openClassifier } from '../src/eval/classifier.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL, loadBundle, MODEL_ROLES, resolveModelName } from '../src/infer/modelBundle.js';

const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const bundled = existsSync(join(bundledModelDir(), `${resolveModelName('accurate')}.onnx`));

test('model roles: fast and accurate name bundled files; other names pass through', () => {
  assert.equal(resolveModelName('fast'), 'expnet-fer2013');
  assert.equal(resolveModelName('expnet-fast'), 'expnet-fer2013');
  assert.equal(resolveModelName('accurate'), MODEL_ROLES.accurate);
  assert.equal(resolveModelName('expnet-mix'), 'expnet-mix');
  assert.equal(resolveModelName('runs/x/model.onnx'), 'runs/x/model.onnx');
  assert.equal(DEFAULT_EXPRESSION_MODEL, 'expnet-accurate');
});

test('model roles: loadBundle and openClassifier take them; an unknown name lists the roles', { skip: !bundled && 'models are not bundled' }, async () => {
  assert.match(loadBundle(undefined, 'fast').expression, /expnet-fer2013\.onnx$/);
  const acc = loadBundle(undefined, 'accurate');
  assert.match(acc.expression, /expnet-accurate\.onnx$/);
  assert.deepEqual(acc.card.ensemble, { members: ['expnet-fer2013-fn2en', 'expnet-mix'], flip: true });
  assert.throws(() => loadBundle(undefined, 'acurate'), /roles: fast, accurate/);
  const c = await openClassifier('accurate');
  try {
    assert.equal(c.labels.length, 7);
  } finally {
    await c.dispose();
  }
});

test('expnet explain: the ensemble model is a clear usage error naming its members; fast works', { skip: !bundled && 'models are not bundled' }, () => {
  const astronaut = join(bundledModelDir(), '..', 'examples', 'astronaut.png');
  const r = spawnSync(process.execPath, [main, 'explain', astronaut, '--model', 'accurate', '--json'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /averages expnet-fer2013-fn2en \+ expnet-mix and their mirror images/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const out = join(mkdtempSync(join(tmpdir(), 'expnet-roles-')), 'a.png');
  const ok = spawnSync(process.execPath, [main, 'explain', astronaut, '--model', 'fast', '--json', '--out', out], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(existsSync(out));
});
