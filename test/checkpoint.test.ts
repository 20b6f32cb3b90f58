/** safetensors files and checkpoints: round trips, the on-disk layout, atomic writes, exact resume, Python interop. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  adam, BatchNorm2d, CHECKSUM_KEY, Conv2d, decodeSafetensors, Dropout, encodeSafetensors, F, Flatten, halfToFloat, Linear, liveTensors, loadCheckpoint,
  loadWeights, manualSeed, randn, readSafetensors, ReLU, saveCheckpoint, saveWeights, Sequential, sgd, tensor, tidy, TrainStep,
  writeFileAtomic, writeSafetensors, type Optimizer, type RawTensor, type Tensor,
} from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'expnet-ckpt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PY = '/usr/bin/python3';

/** One tensor of each dtype with awkward values; float16 values are exactly representable. */
function sampleTensors(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['f32', tensor(Float32Array.from([1.5, -0, 3.4028234663852886e38, 1e-45, -7.25, Math.PI]), [2, 3])],
    ['f64', tensor(Float64Array.from([Math.E, -1e-300, 1e300, 0.1]), [4])],
    ['f16', tensor(Float32Array.from([0.5, -2, 1024, 0.099975586, 65504, -6.1035156e-5]), [3, 2]).to('float16')],
    ['i64', tensor(BigInt64Array.from([-(2n ** 63n), 2n ** 62n + 1n, -1n]), [3])],
    ['i32', tensor(Int32Array.from([-(2 ** 31), 2 ** 31 - 1]), [2, 1])],
    ['u8', tensor(Uint8Array.from([0, 255, 128]), [1, 3])],
    ['bool', tensor(Uint8Array.from([1, 0, 0, 1]), [2, 2], { dtype: 'bool' })],
    ['scalar', tensor(Float32Array.from([42]), [])],
  ]);
}
const disposeMap = (m: ReadonlyMap<string, Tensor>): void => m.forEach((t) => t.dispose());

describe('safetensors', () => {
  it('round-trips every dtype and the metadata', () => {
    const ts = sampleTensors();
    const path = join(dir, 'all.safetensors');
    const meta = { format: 'test', note: 'ünïcode ✓', empty: '' };
    writeSafetensors(path, ts, meta);
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, meta);
    assert.deepEqual([...back.tensors.keys()], [...ts.keys()]);
    for (const [name, t] of ts) {
      const r = back.tensors.get(name) as RawTensor;
      // float16 tensors are stored (and come back) as float32, with the same values.
      assert.equal(r.dtype, t.dtype === 'float16' ? 'float32' : t.dtype, name);
      assert.deepEqual([...r.shape], [...t.shape], name);
      assert.deepEqual(r.data, t.dtype === 'float16' ? t.floats() : t.data(), name);
    }
    // RawTensors go in as they are: a float16 raw tensor (half bits) is stored as F16 and decoded to float32.
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x8000, 0x7e00]).buffer);
    const raw = decodeSafetensors(Buffer.concat(encodeSafetensors(new Map([['h', { dtype: 'float16', shape: [6], data: half }]]))), 'mem');
    const h = raw.tensors.get('h') as RawTensor;
    assert.equal(h.dtype, 'float32');
    assert.deepEqual(Array.from(h.data as Float32Array), [1, -2, 2 ** -24, Infinity, -0, Number.NaN]);
    assert.deepEqual(Array.from(halfToFloat(new Uint8Array(new Uint16Array([0x7bff, 0x0400]).buffer))), [65504, 2 ** -14]);
    disposeMap(ts);
  });

  it('writes the layout of the spec: 8-byte LE header length, padded JSON header, contiguous offsets', () => {
    const ts = sampleTensors();
    const path = join(dir, 'layout.safetensors');
    writeSafetensors(path, ts, { a: 'b' });
    const buf = readFileSync(path);
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'the header is padded to a multiple of 8 bytes');
    const text = buf.subarray(8, 8 + n).toString('utf8');
    assert.match(text, /^\{.*\} *$/s);
    type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
    const header = JSON.parse(text) as Record<string, unknown>;
    const { [CHECKSUM_KEY]: sums, ...meta } = header['__metadata__'] as Record<string, string>;
    assert.deepEqual(meta, { a: 'b' });
    assert.deepEqual(Object.keys(JSON.parse(sums ?? '{}') as Record<string, string>).sort(), [...ts.keys()].sort(), 'a SHA-256 per tensor');
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, Entry][];
    const codes = { f32: 'F32', f64: 'F64', f16: 'F32', i64: 'I64', i32: 'I32', u8: 'U8', bool: 'BOOL', scalar: 'F32' };
    assert.deepEqual(Object.fromEntries(entries.map(([k, e]) => [k, e.dtype])), codes);
    const sorted = entries.map(([, e]) => e.data_offsets).sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [b0, b1] of sorted) {
      assert.equal(b0, end, 'offsets are contiguous from 0');
      end = b1;
    }
    assert.equal(end, buf.length - 8 - n, 'the data ends at the end of the file');
    // The bytes at an entry's offsets are its little-endian values.
    const i32 = header['i32'] as Entry;
    assert.equal(buf.readInt32LE(8 + n + i32.data_offsets[0]), -(2 ** 31));
    const f64 = header['f64'] as Entry;
    assert.equal(buf.readDoubleLE(8 + n + f64.data_offsets[0]), Math.E);
    disposeMap(ts);
  });

  it('writes atomically: no temp file, and an existing file survives a failed write', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'w.safetensors');
    const good = new Map([['a', { dtype: 'float32' as const, shape: [2], data: Float32Array.from([1, 2]) }]]);
    writeSafetensors(path, good);
    const original = readFileSync(path);
    assert.deepEqual(readdirSync(sub), ['w.safetensors']);
    // Serialisation fails: a raw tensor whose bytes do not fit its shape, then a disposed tensor.
    const wrong = new Map([['a', { dtype: 'float32' as const, shape: [3], data: Float32Array.from([1, 2]) }]]);
    assert.throws(() => writeSafetensors(path, wrong), (e: unknown) => e instanceof ExpnetError && /'a' has 8 bytes, its shape needs 12/.test(e.message));
    const gone = tensor([1, 2, 3]);
    gone.dispose();
    assert.throws(() => writeSafetensors(path, new Map([['g', gone]])), /disposed/);
    // The write itself fails half-way.
    assert.throws(() => writeFileAtomic(path, [new Uint8Array(4), 42 as unknown as Uint8Array]));
    assert.deepEqual(readFileSync(path), original, 'the existing file is intact');
    assert.deepEqual(readdirSync(sub), ['w.safetensors'], 'no temporary file is left behind');
    // A successful write replaces the file.
    writeFileAtomic(path, [Buffer.from('new')]);
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.deepEqual(readdirSync(sub), ['w.safetensors']);
  });

  it('saveWeights / loadWeights round-trip a model, strictly', () => {
    manualSeed(1);
    const a = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new Flatten(), new Linear(2, 2));
    manualSeed(2);
    const b = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new Flatten(), new Linear(2, 2));
    const path = join(dir, 'weights.safetensors');
    saveWeights(path, a, { arch: 'tiny' });
    assert.deepEqual(loadWeights(path, b), { arch: 'tiny' });
    for (const [k, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)?.data(), t.data(), k);
    const c = new Sequential(new Conv2d(1, 2, 3), new Flatten(), new Linear(2, 2));
    assert.throws(() => loadWeights(path, c), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_WEIGHTS' && /unexpected/.test(e.message));
    for (const m of [a, b, c]) m.dispose();
  });
});

/** A small CNN with BatchNorm and dropout; every step draws its batch from libtorch's RNG. */
interface Run {
  net: Sequential;
  opt: Optimizer;
  step: () => void;
  weights: () => Map<string, Buffer>;
  dispose: () => void;
}
function makeRun(seed: number): Run {
  manualSeed(seed);
  const net = new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU(), new Flatten(), new Dropout(0.3), new Linear(3 * 4 * 4, 2));
  const opt = adam(net.parameters(), { lr: 0.01 });
  const batch = (): [Tensor, Tensor] => [randn([6, 1, 4, 4]), tidy(() => randn([6]).gt(0).to('int64'))];
  const example = batch();
  // Tracing runs the forward pass once (BN statistics, dropout draws), so a resumed run traces *before* loading.
  const ts = new TrainStep((x, y) => tidy(() => F.crossEntropy(net.forward(x), y)), example, opt);
  example.forEach((t) => t.dispose());
  return {
    net,
    opt,
    step: () => {
      const [x, y] = batch();
      const r = ts.step([x, y]);
      for (const t of [x, y, ...r.outputs]) t.dispose();
    },
    weights: () => new Map([...net.stateDict()].map(([k, t]) => {
      const d = t.data();
      return [k, Buffer.from(d.buffer, d.byteOffset, d.byteLength)];
    })),
    dispose: () => {
      ts.dispose();
      net.dispose();
    },
  };
}
const differing = (a: Map<string, Buffer>, b: Map<string, Buffer>): string[] =>
  [...a].filter(([k, v]) => !v.equals(b.get(k) ?? Buffer.alloc(0))).map(([k]) => k);

describe('checkpoints', () => {
  it('model + Adam state + RNG: resuming from a checkpoint reproduces the run bitwise', () => {
    const baseline = liveTensors();
    const path = join(dir, 'resume.safetensors');
    const first = makeRun(1);
    for (let s = 0; s < 5; s++) first.step();
    saveCheckpoint(path, { model: first.net, optimizer: first.opt, extra: { epoch: 5, order: [3, 1, 2] } });
    for (let s = 0; s < 5; s++) first.step();
    const w1 = first.weights();
    first.dispose();

    const resumed = makeRun(999);
    assert.deepEqual(loadCheckpoint(path, { model: resumed.net, optimizer: resumed.opt }), { epoch: 5, order: [3, 1, 2] });
    for (let s = 0; s < 5; s++) resumed.step();
    assert.deepEqual(differing(w1, resumed.weights()), []);
    resumed.dispose();

    // Controls: without the optimiser state, or without the RNG state, the runs diverge.
    const noOptim = makeRun(999);
    loadCheckpoint(path, { model: noOptim.net });
    assert.equal(noOptim.opt.stateDict().size, 0, 'tracing does not step the optimiser');
    for (let s = 0; s < 5; s++) noOptim.step();
    assert.ok(differing(w1, noOptim.weights()).length > 0, 'fresh Adam moments must change the result');
    noOptim.dispose();
    const noRng = makeRun(999);
    loadCheckpoint(path, { model: noRng.net, optimizer: noRng.opt });
    manualSeed(12345);
    for (let s = 0; s < 5; s++) noRng.step();
    assert.ok(differing(w1, noRng.weights()).length > 0, 'other data and dropout masks must change the result');
    noRng.dispose();
    assert.equal(liveTensors(), baseline);
  });

  it('optimizer state round-trips through stateDict and rejects a mismatched shape', () => {
    const p = tensor([1, 2], [2], { requiresGrad: true });
    const o = sgd([p], { lr: 0.1, momentum: 0.9 });
    const l = tidy(() => p.square().sum());
    l.backward();
    o.step();
    const st = o.stateDict();
    assert.deepEqual([...st.keys()], ['0.0.momentum_buffer']);
    assert.deepEqual(Array.from(st.get('0.0.momentum_buffer')?.data() as Float32Array), [2, 4]);
    const o2 = sgd([p], { lr: 0.1, momentum: 0.9 });
    o2.loadStateDict(st);
    assert.deepEqual(o2.stateDict().get('0.0.momentum_buffer')?.data(), st.get('0.0.momentum_buffer')?.data());
    const bad = new Map([['0.0.momentum_buffer', tensor([1, 2, 3])]]);
    assert.throws(() => o2.loadStateDict(bad), (e: unknown) => e instanceof ExpnetError && /float32\[3\]/.test(e.message));
    for (const t of [p, l, ...st.values(), ...bad.values()]) t.dispose();
  });

  it('refuses files that are not checkpoints, or hold another optimiser', () => {
    const run = makeRun(3);
    const weightsOnly = join(dir, 'weights-only.safetensors');
    saveWeights(weightsOnly, run.net);
    assert.throws(() => loadCheckpoint(weightsOnly, { model: run.net }), (e: unknown) => e instanceof ExpnetError && /not an expnet checkpoint/.test(e.message));
    const path = join(dir, 'adam.safetensors');
    saveCheckpoint(path, { model: run.net, optimizer: run.opt });
    const other = sgd(run.net.parameters(), { lr: 0.1 });
    assert.throws(() => loadCheckpoint(path, { model: run.net, optimizer: other }), /adam optimizer state, not sgd/);
    run.dispose();
  });
});

describe('Python reads our safetensors files', () => {
  const hasPython = existsSync(PY);
  const hasTorch = hasPython && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  // Prints {name: {dtype, shape, values}} for a safetensors file, parsed with struct + json only,
  // and (argv[2] == "torch") the values through torch.frombuffer.
  const script = String.raw`
import hashlib, json, struct, sys
path, mode = sys.argv[1], sys.argv[2]
raw = open(path, 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
fmt = {'F32': 'f', 'F64': 'd', 'F16': 'e', 'I64': 'q', 'I32': 'i', 'U8': 'B', 'BOOL': '?'}
out = {'__metadata__': header.pop('__metadata__', {})}
sums = json.loads(out['__metadata__'].pop('expnet.sha256', '{}'))
out['__sums_ok__'] = len(sums) == len(header) and all(hashlib.sha256(body[e['data_offsets'][0]:e['data_offsets'][1]]).hexdigest() == sums.get(k) for k, e in header.items())
for name, e in header.items():
    b0, b1 = e['data_offsets']
    data = body[b0:b1]
    if mode == 'torch':
        import torch
        dt = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8, 'BOOL': torch.bool}[e['dtype']]
        t = torch.frombuffer(bytearray(data), dtype=dt).reshape(e['shape'])
        values = [str(v) if e['dtype'] == 'I64' else v for v in t.flatten().tolist()]
    else:
        size = struct.calcsize(fmt[e['dtype']])
        values = list(struct.unpack('<%d%s' % (len(data) // size, fmt[e['dtype']]), data))
        if e['dtype'] == 'I64':
            values = [str(v) for v in values]
    out[name] = {'dtype': e['dtype'], 'shape': e['shape'], 'values': [float(v) if isinstance(v, float) else v for v in values]}
print(json.dumps(out))
`;

  const expected = (t: Tensor): (number | string | boolean)[] =>
    t.dtype === 'int64' ? Array.from(t.data() as BigInt64Array, String)
    : t.dtype === 'bool' ? Array.from(t.data() as Uint8Array, Boolean)
    : t.dtype === 'float16' ? Array.from(t.floats())
    : Array.from(t.data() as ArrayLike<number>);

  function check(mode: 'plain' | 'torch'): void {
    const ts = sampleTensors();
    const path = join(dir, `py-${mode}.safetensors`);
    writeSafetensors(path, ts, { source: 'expnet' });
    const r = spawnSync(PY, ['-c', script, path, mode], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, { dtype: string; shape: number[]; values: (number | string | boolean)[] }>;
    assert.deepEqual(got['__metadata__'], { source: 'expnet' });
    assert.equal(got['__sums_ok__'], true, "Python's hashlib agrees with every tensor's expnet.sha256");
    delete got['__sums_ok__'];
    for (const [name, t] of ts) {
      const e = got[name];
      assert.ok(e, `python did not see ${name}`);
      assert.deepEqual(e.shape, [...t.shape], name);
      assert.deepEqual(e.values, expected(t), name);
    }
    disposeMap(ts);
  }

  it('plain Python (struct + json) reads the values', { skip: hasPython ? false : `${PY} not found` }, () => check('plain'));
  it('Python with torch.frombuffer reads the values', { skip: hasTorch ? false : `${PY} cannot import torch; skipping the PyTorch interop check` }, () => check('torch'));
});
