/** Tensors: typed-array round trips, shapes, op values against hand computation, scopes and the live count. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arange, cat, F, keep, labels, liveTensors, stack, tensor, tidy, where, zeros, type Tensor } from '../src/engine/index.js';

/** Values of a tensor as plain numbers. */
const nums = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number | bigint>, (v) => Number(v));
const close = (got: ArrayLike<number>, want: readonly number[], tol = 1e-5, what = ''): void => {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let k = 0; k < want.length; k++) {
    const g = got[k] as number;
    const w = want[k] as number;
    assert.ok(Math.abs(g - w) <= tol * Math.max(1, Math.abs(w)), `${what}[${k}]: got ${g}, want ${w}`);
  }
};
/** Runs `fn` in a scope and checks no tensor outlives it. */
const scoped = (fn: () => void): void => {
  const before = liveTensors();
  tidy(fn);
  assert.equal(liveTensors(), before, 'the test body leaked tensors');
};

describe('fromArray / data round trip', () => {
  const cases: { dtype: 'float32' | 'float64' | 'int64' | 'int32' | 'uint8'; data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array }[] = [
    { dtype: 'float32', data: Float32Array.from([1.5, -2.25, 3e-8, 1e30, -0, 7]) },
    { dtype: 'float64', data: Float64Array.from([Math.PI, -1e-300, 1e300, 0.1, -7.5, 2 ** 53]) },
    { dtype: 'int64', data: BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n), 42n, 9007199254740993n]) },
    { dtype: 'int32', data: Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31), 5, 6]) },
    { dtype: 'uint8', data: Uint8Array.from([0, 1, 127, 128, 254, 255]) },
  ];
  for (const { dtype, data } of cases) {
    it(`${dtype}: values, dtype and shape survive`, () =>
      scoped(() => {
        const t = tensor(data, [2, 3]);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2, 3]);
        assert.equal(t.rank, 2);
        assert.equal(t.size, 6);
        const back = t.data();
        assert.equal(back.constructor, data.constructor);
        assert.deepEqual(back, data);
        assert.notEqual(back.buffer, data.buffer, 'data() must return a copy');
      }));
  }

  it('bool: any non-zero byte is true, data() gives 0/1 bytes', () =>
    scoped(() => {
      const t = tensor(Uint8Array.from([0, 2, 1, 255]), [2, 2], { dtype: 'bool' });
      assert.equal(t.dtype, 'bool');
      assert.deepEqual(t.data(), Uint8Array.from([0, 1, 1, 1]));
    }));

  it('converts between typed array and dtype, and respects byteOffset views', () =>
    scoped(() => {
      assert.deepEqual(tensor(Float64Array.from([1.5, 2.5]), [2], { dtype: 'float32' }).data(), Float32Array.from([1.5, 2.5]));
      assert.deepEqual(tensor(Int32Array.from([3, -4]), [2], { dtype: 'int64' }).data(), BigInt64Array.from([3n, -4n]));
      const base = Float32Array.from([9, 9, 1, 2, 3, 9]);
      assert.deepEqual(tensor(base.subarray(2, 5), [3]).data(), Float32Array.from([1, 2, 3]));
      assert.deepEqual(tensor([1, 2, 3]).data(), Float32Array.from([1, 2, 3]), 'plain numbers become float32');
    }));

  it('shapes: scalar, empty and high-rank tensors', () =>
    scoped(() => {
      const s = tensor(Float32Array.from([4]), []);
      assert.deepEqual(s.shape, []);
      assert.equal(s.item(), 4);
      const e = tensor(new Float32Array(0), [0, 3]);
      assert.deepEqual(e.shape, [0, 3]);
      assert.equal(e.data().length, 0);
      const h = zeros([1, 2, 1, 3, 1, 2]);
      assert.deepEqual(h.shape, [1, 2, 1, 3, 1, 2]);
      assert.equal(h.size, 12);
      assert.deepEqual(labels([3, 1]).data(), BigInt64Array.from([3n, 1n]));
    }));

  it('assign copies values in place', () =>
    scoped(() => {
      const t = zeros([2, 2]);
      t.assign(Float32Array.from([1, 2, 3, 4]));
      assert.deepEqual(nums(t), [1, 2, 3, 4]);
      t.assign(tensor([5, 6, 7, 8], [2, 2]));
      assert.deepEqual(nums(t), [5, 6, 7, 8]);
    }));
});

describe('op values vs hand computation', () => {
  const m = (): Tensor => tensor([1, 2, 3, 4, 5, 6], [2, 3]);

  it('broadcasting add and scalar arithmetic', () =>
    scoped(() => {
      const r = m().add(tensor([10, 20, 30]));
      assert.deepEqual(r.shape, [2, 3]);
      assert.deepEqual(nums(r), [11, 22, 33, 14, 25, 36]);
      assert.deepEqual(nums(tensor([1, 2], [2, 1]).add(tensor([10, 20, 30], [1, 3]))), [11, 21, 31, 12, 22, 32]);
      assert.deepEqual(nums(m().mul(2).sub(1).div(2)), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
      assert.deepEqual(nums(m().pow(2)), [1, 4, 9, 16, 25, 36]);
    }));

  it('matmul', () =>
    scoped(() => {
      // [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
      const r = m().matmul(tensor([1, 0, 0, 1, 1, 1], [3, 2]));
      assert.deepEqual(r.shape, [2, 2]);
      assert.deepEqual(nums(r), [4, 5, 10, 11]);
    }));

  it('sum / mean / var over dims', () =>
    scoped(() => {
      assert.equal(m().sum().item(), 21);
      assert.deepEqual(nums(m().sum(0)), [5, 7, 9]);
      assert.deepEqual(nums(m().sum(1)), [6, 15]);
      const k = m().mean(1, true);
      assert.deepEqual(k.shape, [2, 1]);
      assert.deepEqual(nums(k), [2, 5]);
      assert.equal(m().mean().item(), 3.5);
      close(nums(m().var(1)), [1, 1]);
      close(nums(m().var(1, false, false)), [2 / 3, 2 / 3]);
      close([m().std().item()], [Math.sqrt(17.5 / 5)]);
    }));

  it('max / argmax / topk', () =>
    scoped(() => {
      const t = tensor([3, 9, 1, 7, 2, 8], [2, 3]);
      assert.equal(t.max().item(), 9);
      assert.equal(t.min().item(), 1);
      const { values, indices } = t.maxAlong(1);
      assert.deepEqual(nums(values), [9, 8]);
      assert.deepEqual(indices.data(), BigInt64Array.from([1n, 2n]));
      assert.deepEqual(nums(t.argmax(0)), [1, 0, 1]);
      assert.equal(t.argmax().item(), 1);
      const top = t.topk(2, 1);
      assert.deepEqual(nums(top.values), [9, 3, 8, 7]);
      assert.deepEqual(nums(top.indices), [1, 0, 2, 0]);
      const low = t.topk(1, 1, false);
      assert.deepEqual(nums(low.values), [1, 2]);
    }));

  it('softmax and log_softmax', () =>
    scoped(() => {
      const x = [1, 2, 3];
      const z = x.reduce((s, v) => s + Math.exp(v), 0);
      close(nums(tensor(x).softmax(0)), x.map((v) => Math.exp(v) / z));
      close(nums(tensor(x).logSoftmax(0)), x.map((v) => v - Math.log(z)));
      close(nums(tensor([0, 0, 1000, 1000], [2, 2]).softmax(1)), [0.5, 0.5, 0.5, 0.5]);
    }));

  it('cat / stack / slice / narrow / index_select / gather / flip / permute / transpose', () =>
    scoped(() => {
      assert.deepEqual(nums(cat([m(), tensor([7, 8, 9], [1, 3])], 0)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const c1 = cat([m(), tensor([0, 0], [2, 1])], 1);
      assert.deepEqual(c1.shape, [2, 4]);
      assert.deepEqual(nums(c1), [1, 2, 3, 0, 4, 5, 6, 0]);
      const s = stack([tensor([1, 2]), tensor([3, 4])], 1);
      assert.deepEqual(s.shape, [2, 2]);
      assert.deepEqual(nums(s), [1, 3, 2, 4]);
      assert.deepEqual(nums(arange(0, 10).slice(0, 1, 8, 3)), [1, 4, 7]);
      assert.deepEqual(nums(m().slice(1, 1)), [2, 3, 5, 6]);
      assert.deepEqual(nums(m().narrow(1, 0, 2)), [1, 2, 4, 5]);
      assert.deepEqual(nums(m().indexSelect(1, labels([2, 0, 2]))), [3, 1, 3, 6, 4, 6]);
      assert.deepEqual(nums(m().gather(1, tensor(BigInt64Array.from([2n, 0n, 1n, 1n]), [2, 2]))), [3, 1, 5, 5]);
      assert.deepEqual(nums(m().flip([1])), [3, 2, 1, 6, 5, 4]);
      assert.deepEqual(nums(m().flip([0, 1])), [6, 5, 4, 3, 2, 1]);
      const p = arange(0, 24).reshape([2, 3, 4]).permute([2, 0, 1]);
      assert.deepEqual(p.shape, [4, 2, 3]);
      // p[i][j][k] = x[j][k][i] = 12j + 4k + i
      assert.deepEqual(nums(p.slice(0, 1, 2)), [1, 5, 9, 13, 17, 21]);
      assert.deepEqual(nums(m().transpose(0, 1)), [1, 4, 2, 5, 3, 6]);
      assert.deepEqual(m().reshape([3, 2]).shape, [3, 2]);
      assert.deepEqual(m().unsqueeze(0).shape, [1, 2, 3]);
      assert.deepEqual(m().reshape([2, 1, 3]).squeeze(1).shape, [2, 3]);
      assert.deepEqual(m().flatten().shape, [6]);
      assert.deepEqual(nums(tensor([1, 2], [2, 1]).expand([2, 3])), [1, 1, 1, 2, 2, 2]);
      assert.deepEqual(nums(tensor([1, 2]).repeat([2])), [1, 2, 1, 2]);
      assert.deepEqual(nums(labels([2, 0]).oneHot(3)), [0, 0, 1, 1, 0, 0]);
    }));

  it('where, clamp, comparisons, maximum', () =>
    scoped(() => {
      const x = tensor([-2, -0.5, 0.5, 2]);
      assert.deepEqual(nums(where(x.gt(0), x, x.mul(10))), [-20, -5, 0.5, 2]);
      assert.deepEqual(nums(x.clamp(-1, 1)), [-1, -0.5, 0.5, 1]);
      assert.deepEqual(nums(x.clamp(0)), [0, 0, 0.5, 2]);
      assert.deepEqual(nums(x.clamp(null, 0)), [-2, -0.5, 0, 0]);
      assert.deepEqual(nums(x.lt(0)), [1, 1, 0, 0]);
      assert.deepEqual(nums(x.maximum(tensor([0, 0, 0, 0]))), [0, 0, 0.5, 2]);
      assert.deepEqual(nums(x.abs()), [2, 0.5, 0.5, 2]);
    }));

  it('conv2d, pooling and batch norm on tiny inputs', () =>
    scoped(() => {
      const x = arange(1, 17).reshape([1, 1, 4, 4]);
      // 2x2 box filter, stride 2: sums of the 4 quadrants
      const c = F.conv2d(x, tensor([1, 1, 1, 1], [1, 1, 2, 2]), tensor([0.5]), { stride: 2 });
      assert.deepEqual(nums(c), [14.5, 22.5, 46.5, 54.5]);
      assert.deepEqual(nums(F.maxPool2d(x, 2)), [6, 8, 14, 16]);
      assert.deepEqual(nums(F.avgPool2d(x, 2)), [3.5, 5.5, 11.5, 13.5]);
      assert.deepEqual(nums(F.adaptiveAvgPool2d(x, 1)), [8.5]);
      const bn = F.batchNorm(tensor([1, 3], [2, 1, 1, 1]), null, null, null, null, { training: true, eps: 0 });
      close(nums(bn), [-1, 1]);
    }));

  it('interpolate (nearest, bilinear) and pad (constant, reflect, replicate)', () =>
    scoped(() => {
      const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      assert.deepEqual(nums(F.interpolate(x, { scaleFactor: 2 })), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
      // align_corners: a 2x2 → 3x3 bilinear grid has the corner values and their averages
      close(nums(F.interpolate(x, { size: 3, mode: 'bilinear', alignCorners: true })), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
      const row = tensor([1, 2, 3], [1, 1, 1, 3]);
      assert.deepEqual(nums(F.pad(row, [1, 2])), [0, 1, 2, 3, 0, 0]);
      assert.deepEqual(nums(F.pad(row, [1, 1], 'constant', 9)), [9, 1, 2, 3, 9]);
      assert.deepEqual(nums(F.pad(row, [2, 1, 0, 0], 'reflect')), [3, 2, 1, 2, 3, 2]);
      assert.deepEqual(nums(F.pad(row, [1, 2, 0, 0], 'replicate')), [1, 1, 2, 3, 3, 3]);
      assert.deepEqual(F.pad(row, [0, 0, 1, 1], 'replicate').shape, [1, 1, 3, 3]);
    }));

  it('affine_grid + grid_sample with the identity transform reproduces the input', () =>
    scoped(() => {
      const x = arange(0, 2 * 3 * 5 * 4).reshape([2, 3, 5, 4]).mul(0.1);
      const theta = tensor([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0], [2, 2, 3]);
      for (const alignCorners of [false, true]) {
        const grid = F.affineGrid(theta, [2, 3, 5, 4], alignCorners);
        assert.deepEqual(grid.shape, [2, 5, 4, 2]);
        const y = F.gridSample(x, grid, 'bilinear', 'zeros', alignCorners);
        close(nums(y), nums(x), 1e-5, `alignCorners=${alignCorners}`);
      }
      // A horizontal flip (theta x-scale -1) mirrors each row.
      const flip = F.gridSample(x, F.affineGrid(tensor([-1, 0, 0, 0, 1, 0, -1, 0, 0, 0, 1, 0], [2, 2, 3]), [2, 3, 5, 4]));
      close(nums(flip), nums(x.flip([3])), 1e-5, 'flip');
    }));
});

describe('scopes and the live-tensor count', () => {
  it('tidy disposes intermediates and keeps what it returns', () => {
    const before = liveTensors();
    const inner: Tensor[] = [];
    const out = tidy(() => {
      const a = tensor([1, 2, 3]);
      const b = a.mul(2);
      inner.push(a, b);
      return { sum: b.add(1), list: [b.sub(1)] };
    });
    assert.ok(inner.every((t) => t.isDisposed), 'intermediates must be disposed');
    assert.deepEqual(nums(out.sum), [3, 5, 7]);
    assert.deepEqual(nums(out.list[0] as Tensor), [1, 3, 5]);
    assert.equal(liveTensors(), before + 2);
    out.sum.dispose();
    (out.list[0] as Tensor).dispose();
    assert.equal(liveTensors(), before);
  });

  it('nested tidy moves a returned tensor to the enclosing scope; keep() lets it escape', () => {
    const before = liveTensors();
    let escaped: Tensor | undefined;
    let fromInner: Tensor | undefined;
    tidy(() => {
      fromInner = tidy(() => tensor([1]).add(1));
      escaped = keep(tensor([5]));
      return undefined;
    });
    assert.ok(fromInner?.isDisposed, 'the outer scope owns what the inner one returned');
    assert.equal(escaped?.isDisposed, false);
    assert.equal(liveTensors(), before + 1);
    escaped?.dispose();
    assert.equal(liveTensors(), before);
  });

  it('tidy disposes everything when the function throws', () => {
    const before = liveTensors();
    assert.throws(() =>
      tidy(() => {
        tensor([1, 2]).add(1);
        throw new Error('boom');
      }),
    /boom/);
    assert.equal(liveTensors(), before);
  });

  it('liveTensors returns to the baseline after many ops, and counts handles', () => {
    const before = liveTensors();
    const t = tensor([1, 2]);
    const g = t.add(1);
    assert.equal(liveTensors(), before + 2);
    t.dispose();
    t.dispose(); // idempotent
    g.dispose();
    assert.equal(liveTensors(), before);
    for (let k = 0; k < 100; k++) tidy(() => tensor([k]).mul(2).add(1).exp().sum().item());
    assert.equal(liveTensors(), before);
  });
});
