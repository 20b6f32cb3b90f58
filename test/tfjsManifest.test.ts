import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ExpnetError } from '../src/errors.js';
import { FACE_API_MODELS, faceApiManifestPath, loadFaceApiWeights, modelDir, parseTfjsManifest, readTfjsWeights } from '../src/formats/tfjs/tfjsManifest.js';
import type { TfjsWeightMap } from '../src/formats/tfjs/tfjsManifest.js';

/** tfjs's own decoding of a manifest (all groups), as plain typed arrays. */
async function tfjsReference(manifestFile: string): Promise<Map<string, { shape: number[]; data: Float32Array | Int32Array }>> {
  const groups = JSON.parse(await readFile(manifestFile, 'utf8')) as tf.io.WeightsManifestConfig;
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const group of groups) {
    const shards = await Promise.all(group.paths.map((p) => readFile(path.join(path.dirname(manifestFile), p))));
    const buffer = Buffer.concat(shards);
    const decoded = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), group.weights);
    for (const [name, t] of Object.entries(decoded)) {
      out.set(name, { shape: t.shape, data: t.dataSync() as Float32Array | Int32Array });
      t.dispose();
    }
  }
  return out;
}

function assertSameAsTfjs(ours: TfjsWeightMap, ref: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, label: string): void {
  assert.deepEqual([...ours.keys()], [...ref.keys()], `${label}: names/order`);
  for (const [name, r] of ref) {
    const o = ours.get(name);
    assert.ok(o, `${label}: ${name} missing`);
    assert.deepEqual(o.shape, r.shape, `${label}: ${name} shape`);
    assert.equal(o.data.constructor, r.data.constructor, `${label}: ${name} dtype`);
    assert.equal(o.data.length, r.data.length, `${label}: ${name} length`);
    for (let i = 0; i < r.data.length; i++) {
      if (!Object.is(o.data[i], r.data[i])) assert.fail(`${label}: ${name}[${i}] = ${o.data[i]}, tfjs says ${r.data[i]}`);
    }
  }
}

describe('face-api.js model manifests', () => {
  test('modelDir() resolves the model folder in node_modules', () => {
    assert.match(modelDir(), /@vladmandic[/\\]face-api[/\\]model$/);
  });

  test('face_recognition_model: 117 tensors, 109 uint8-quantised, shapes as shipped', async () => {
    const file = faceApiManifestPath('face_recognition_model');
    const groups = parseTfjsManifest(JSON.parse(await readFile(file, 'utf8')), file);
    const specs = groups.flatMap((g) => g.weights);
    assert.equal(specs.length, 117);
    assert.equal(specs.filter((s) => s.quantization !== undefined).length, 109);
    const w = await loadFaceApiWeights('face_recognition_model');
    assert.equal(w.size, 117);
    assert.deepEqual(w.get('conv32_down/conv/filters')?.shape, [7, 7, 3, 32]);
    assert.deepEqual(w.get('fc')?.shape, [256, 128]);
  });

  for (const name of FACE_API_MODELS) {
    test(`${name}: loads and equals tf.io.decodeWeights bit for bit`, async () => {
      const file = faceApiManifestPath(name);
      const ours = await readTfjsWeights(file);
      assert.ok(ours.size > 0);
      for (const [n, t] of ours) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), `${n} size`);
      assertSameAsTfjs(ours, await tfjsReference(file), name);
    });
  }
});

describe('synthetic manifests', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'expnet-tfjs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `<name>.json` + shards; returns the manifest path. */
  async function write(name: string, manifest: unknown, shards: Record<string, Uint8Array>): Promise<string> {
    for (const [file, bytes] of Object.entries(shards)) await writeFile(path.join(dir, file), bytes);
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(manifest));
    return file;
  }

  const half = new Uint16Array([0x0000, 0x8000, 0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x3555]);
  const u16 = new Uint16Array([0, 1, 65535, 1234]);
  const f32 = new Float32Array([1.5, -2.25, 3e-8]);
  const i32 = new Int32Array([-7, 0, 2147483647]);
  const u8 = new Uint8Array([0, 3, 255, 128, 7, 9]);
  const all = Buffer.concat([Buffer.from(half.buffer), Buffer.from(u16.buffer), Buffer.from(f32.buffer), Buffer.from(i32.buffer), Buffer.from(u8)]);
  const weights = [
    { name: 'h', shape: [2, 5], dtype: 'float32', quantization: { dtype: 'float16' } },
    { name: 'u16', shape: [4], dtype: 'float32', quantization: { dtype: 'uint16', min: -1.5, scale: 0.001 } },
    { name: 'f', shape: [3], dtype: 'float32' },
    { name: 'i', shape: [3], dtype: 'int32' },
    { name: 'iq', shape: [2, 1], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.5, min: 6 } },
    { name: 'scalar', shape: [], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -0.3 } },
    { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.01, min: 0 } },
  ];

  test('float16, uint16, uint8, int32 (raw and quantised), scalars, two shards, two groups: same as tfjs', async () => {
    const cut = 17;
    const file = await write('ok', [
      { paths: ['a.bin', 'b.bin'], weights },
      { paths: ['c.bin'], weights: [{ name: 'g2', shape: [2], dtype: 'float32' }] },
    ], { 'a.bin': all.subarray(0, cut), 'b.bin': all.subarray(cut), 'c.bin': Buffer.from(new Float32Array([4, 5]).buffer) });
    const ours = await readTfjsWeights(file);
    assertSameAsTfjs(ours, await tfjsReference(file), 'synthetic');
    assert.deepEqual([...(ours.get('h')?.data ?? [])].slice(0, 4), [0, -0, 1, -2]);
    assert.equal(ours.get('h')?.data[7], Infinity);
    assert.deepEqual([...(ours.get('iq')?.data ?? [])], [6, 8]);
    assert.deepEqual(ours.get('scalar')?.shape, []);
  });

  async function rejects(file: string, pattern: RegExp): Promise<void> {
    await assert.rejects(readTfjsWeights(file), (err: unknown) => {
      assert.ok(err instanceof ExpnetError, String(err));
      assert.equal(err.code, 'BAD_WEIGHTS');
      assert.ok(err.message.includes(file), `message names the manifest: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
  }

  test('byte count must match exactly (short and long shards)', async () => {
    await rejects(await write('short', [{ paths: ['s.bin'], weights }], { 's.bin': all.subarray(1) }), /need exactly 58 bytes but its shards hold 57/);
    await rejects(await write('long', [{ paths: ['l.bin'], weights }], { 'l.bin': Buffer.concat([all, Buffer.alloc(1)]) }), /hold 59/);
  });

  test('unknown dtype, unknown quantisation, missing scale, missing shard, bad JSON', async () => {
    await rejects(await write('dtype', [{ paths: ['x.bin'], weights: [{ name: 'b', shape: [1], dtype: 'bool' }] }], { 'x.bin': Buffer.alloc(1) }), /'b' dtype: expected 'float32' or 'int32', got "bool"/);
    await rejects(await write('qdtype', [{ paths: ['x.bin'], weights: [{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'int4', scale: 1, min: 0 } }] }], {}), /quantization\.dtype/);
    await rejects(await write('qscale', [{ paths: ['x.bin'], weights: [{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8', min: 0 } }] }], {}), /'scale' and 'min'/);
    await rejects(await write('missing', [{ paths: ['nope.bin'], weights: [{ name: 'f', shape: [1], dtype: 'float32' }] }], {}), /shard 'nope\.bin'/);
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '[{');
    await rejects(file, /expected JSON/);
  });
});
