import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportCommand } from '../src/cli/export.js';
import { saveCheckpoint } from '../src/engine/checkpoint.js';
import { tensor } from '../src/engine/creation.js';
import { liveTensors, manualSeed } from '../src/engine/runtime.js';
import { isTeacherCheckpoint, loadTeacherModel } from '../src/export/teacherModel.js';
import { FaceNet } from '../src/nets/faceNet.js';
import { FaceNetClassifier } from '../src/nets/faceNetClassifier.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel, type ModelCard } from '../src/nets/modelCard.js';
import { teacherEntry } from '../src/nets/teachers.js';
import { runNode } from './helpers/onnxHarness.js';

const LABELS = ['happy', 'neutral', 'sadness'];
const TINY = { widths: [4, 8, 8, 8, 8] as const, fcHidden: 16, dropout: 0, batchNorm: true, numClasses: 3 };

/** A finished run folder with a fine-tuned dlib face net (random head) at a small teacher side. */
function fakeRun(dir: string, teacherSize: number): string {
  const entry = teacherEntry('dlib-resnet');
  const cls = new FaceNetClassifier(new FaceNet(), LABELS.length, 'conv64_3', 0.5, entry);
  const path = join(dir, 'teacher.best.safetensors');
  saveCheckpoint(path, { model: cls });
  cls.dispose();
  const student = { inputSize: 48, inChannels: 1, widths: [32, 64, 128, 256, 256], batchNorm: true, fcHidden: 256, dropout: 0.5, numClasses: 7 };
  const config = { seed: 1, precision: 'bf16', student, teacher: { net: 'dlib-resnet', inputSize: teacherSize, frozenUntil: 'conv64_3', stage: { epochs: 2 } }, stageA: { target: 'conv256_2' } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ command: 'expnet train (test)', data: 'synthetic', config }));
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ validation: { labels: LABELS, accuracy: 0.5 }, stages: { teacher: { bestScore: 0.5 } } }));
  return path;
}

test('expnet export: a run\'s fine-tuned face net becomes a 48-px gray expression model, alone and averaged with a student', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-teacher-export-'));
  manualSeed(5);
  const ckpt = fakeRun(dir, 128);
  assert.equal(isTeacherCheckpoint(ckpt), true);
  const studentNet = new ExpNet(TINY).eval();
  const studentPath = join(dir, 'student.safetensors');
  const studentCard: ModelCard = {
    name: 'student', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: LABELS, config: studentNet.config,
    method: 'fn2en', training: { data: 'synthetic', command: 'test', seed: 0, epochs: {} }, metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
  };
  saveExpNetModel(studentPath, studentNet, studentCard);
  assert.equal(isTeacherCheckpoint(studentPath), false, 'an expnet model is not a teacher checkpoint');
  const face = Float32Array.from({ length: 48 * 48 }, (_, i) => ((i * 37) % 101) / 100);
  const { model } = await loadTeacherModel(ckpt);
  const x = tensor(face, [1, 1, 48, 48]);
  const [teacherLogits, studentLogits] = [model, studentNet].map((m) => {
    const z = m.forward(x);
    const f = z.floats();
    z.dispose();
    return f;
  }) as [Float32Array, Float32Array];
  x.dispose();
  model.dispose();
  const live = liveTensors();
  const alone = join(dir, 'teacher.onnx');
  assert.equal(await exportCommand([ckpt, alone]), 0);
  assert.equal(liveTensors(), live, 'export leaks no tensors');
  const got = (await runNode(new Uint8Array(readFileSync(alone)), { face: { data: face, shape: [1, 1, 48, 48] } }))['logits']?.data ?? new Float32Array();
  teacherLogits.forEach((e, c) => assert.ok(Math.abs(e - (got[c] ?? NaN)) < 1e-3 * Math.max(1, Math.abs(e)), `teacher logit ${c}: ONNX ${got[c]} vs libtorch ${e}`));
  const card = JSON.parse(readFileSync(join(dir, 'teacher.json'), 'utf8')) as ModelCard;
  assert.equal(card.arch, 'face-net');
  assert.deepEqual(card.labels, LABELS);
  assert.deepEqual(card.input, { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' });
  assert.equal(card.training.teacher?.inputSize, 128);
  const both = join(dir, 'both.onnx');
  assert.equal(await exportCommand([studentPath, ckpt, both]), 0);
  const avg = (await runNode(new Uint8Array(readFileSync(both)), { face: { data: face, shape: [1, 1, 48, 48] } }))['logits']?.data ?? new Float32Array();
  LABELS.forEach((_, c) => {
    const e = ((teacherLogits[c] ?? 0) + (studentLogits[c] ?? 0)) / 2;
    assert.ok(Math.abs(e - (avg[c] ?? NaN)) < 1e-3 * Math.max(1, Math.abs(e)), `averaged logit ${c}: ${avg[c]} vs ${e}`);
  });
  assert.equal((JSON.parse(readFileSync(join(dir, 'both.json'), 'utf8')) as ModelCard).arch, 'face-net', 'a graph holding a face net says so (explain refuses it)');
  // --labels keeps those outputs, in that order.
  const cut = join(dir, 'cut.onnx');
  assert.equal(await exportCommand([ckpt, cut, '--labels', 'sadness,happy']), 0);
  const two = (await runNode(new Uint8Array(readFileSync(cut)), { face: { data: face, shape: [1, 1, 48, 48] } }))['logits']?.data ?? new Float32Array();
  assert.equal(two.length, 2);
  [2, 0].forEach((c, k) => assert.ok(Math.abs((teacherLogits[c] ?? 0) - (two[k] ?? NaN)) < 1e-3 * Math.max(1, Math.abs(teacherLogits[c] ?? 0)), `kept logit ${k}`));
  assert.deepEqual((JSON.parse(readFileSync(join(dir, 'cut.json'), 'utf8')) as ModelCard).labels, ['sadness', 'happy']);
  await assert.rejects(exportCommand([ckpt, cut, '--labels', 'happy,contempt']), /contempt not among/);
  // Members are mapped by name onto --labels before averaging.
  const mapped = join(dir, 'mapped.onnx');
  assert.equal(await exportCommand([studentPath, ckpt, mapped, '--labels', 'neutral,happy']), 0);
  const nh = (await runNode(new Uint8Array(readFileSync(mapped)), { face: { data: face, shape: [1, 1, 48, 48] } }))['logits']?.data ?? new Float32Array();
  [1, 0].forEach((c, k) => {
    const e = ((teacherLogits[c] ?? 0) + (studentLogits[c] ?? 0)) / 2;
    assert.ok(Math.abs(e - (nh[k] ?? NaN)) < 1e-3 * Math.max(1, Math.abs(e)), `mapped logit ${k}: ${nh[k]} vs ${e}`);
  });
  studentNet.dispose();
});

test('expnet export: a teacher checkpoint without its run files is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-teacher-lone-'));
  const cls = new FaceNetClassifier(new FaceNet(), 3, 'conv64_3', 0.5, teacherEntry('dlib-resnet'));
  const path = join(dir, 'teacher.best.safetensors');
  saveCheckpoint(path, { model: cls });
  cls.dispose();
  await assert.rejects(exportCommand([path, join(dir, 'out.onnx')]), /config\.json/);
});
