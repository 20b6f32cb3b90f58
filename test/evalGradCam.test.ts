import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensor } from '../src/engine/creation.js';
import { Linear } from '../src/engine/layers.js';
import { Module } from '../src/engine/module.js';
import { liveTensors, manualSeed, noGrad } from '../src/engine/runtime.js';
import { tidy } from '../src/engine/scope.js';
import type { Tensor } from '../src/engine/tensor.js';
import { CAM_METHODS, expNetAt, gradCam, normaliseMap } from '../src/eval/gradCam.js';
import { heatColour, sampleMap, upsampleMap } from '../src/eval/heatmap.js';
import { ExpNet } from '../src/nets/expNet.js';

/** features = the input itself ([1, 2, 2, 2]); logits = W · spatial mean: Grad-CAM is known in closed form. */
class Tiny extends Module {
  readonly fc = this.child('fc', new Linear(2, 3));
  features(x: Tensor): Tensor {
    return x.mul(1);
  }
  classify(f: Tensor): Tensor {
    return tidy(() => this.fc.forward(f.mean([2, 3])));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.classify(this.features(x)));
  }
}

const close = (a: ArrayLike<number>, b: readonly number[], eps = 1e-5): void => {
  assert.equal(a.length, b.length);
  b.forEach((v, i) => assert.ok(Math.abs((a[i] ?? NaN) - v) < eps, `[${i}] ${a[i]} ≠ ${v} (got ${Array.from(a).join(', ')})`));
};

describe('Grad-CAM', () => {
  test('a tiny net with a known answer: α = W[c] / (h·w), map = ReLU(Σ α_k A_k)', () => {
    const net = new Tiny();
    noGrad(() => {
      net.fc.weight.assign(tensor([1, -1, 2, 0, 0, 0.5], [3, 2]));
      net.fc.bias?.assign(tensor([0, 0, 0]));
    });
    const x = tensor([1, 2, 3, 4, 4, 0, 0, 4], [1, 2, 2, 2]);
    // a global-average-pooling head: the gradient is the same at every position, so both methods agree
    for (const method of CAM_METHODS) {
      const before = liveTensors();
      const r = gradCam({ model: net, features: (t) => net.features(t), classify: (f) => net.classify(f) }, x, [0, 1, 2], method);
      assert.equal(liveTensors(), before, 'no tensor leaks');
      close(r.logits, [0.5, 5, 1]);
      close(r.weights[0] ?? [], [0.25, -0.25]);
      close(r.maps[0] ?? [], [0, 0.5, 0.75, 0]); // ReLU cuts the negative corner
      close(r.maps[1] ?? [], [0.5, 1, 1.5, 2]);
      close(r.maps[2] ?? [], [0.5, 0, 0, 0.5]);
      assert.deepEqual([r.height, r.width], [2, 2]);
    }
    assert.equal(net.fc.weight.grad, null, 'parameters get no gradient');
    assert.equal(net.fc.weight.requiresGrad, true, 'and stay trainable');
    assert.equal(net.training, true, 'the train/eval mode is restored');
    assert.throws(() => gradCam({ model: net, features: (t) => net.features(t), classify: (f) => net.classify(f) }, x, [3]), /not an output index/);
    x.dispose();
    net.dispose();
  });

  test('on an ExpNet, the channel weights and per-position gradients equal finite differences of the head', () => {
    manualSeed(3);
    const net = new ExpNet({ inputSize: 32, widths: [4, 4, 4, 6, 6], fcHidden: 8, numClasses: 3 }).eval();
    const x = tidy(() => tensor(Float32Array.from({ length: 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5), [1, 1, 32, 32]));
    const r = gradCam(expNetAt(net), x, [2], 'gradcam');
    assert.deepEqual([r.height, r.width], [2, 2]);
    const a = noGrad(() => net.features(x));
    const eps = 1e-2;
    const logit = (k: number, t: number, at: number | null = null): number =>
      tidy(() => {
        const bump = new Float32Array(6 * 4);
        if (at === null) bump.fill(t, k * 4, k * 4 + 4);
        else bump[k * 4 + at] = t;
        return noGrad(() => net.classify(a.add(tensor(bump, [1, 6, 2, 2]))).floats()[2] ?? NaN);
      });
    const fd = Array.from({ length: 6 }, (_, k) => (logit(k, eps) - logit(k, -eps)) / (2 * eps) / 4);
    close(r.weights[0] ?? [], fd, 2e-3);
    // gradcam: the map is ReLU(Σ α_k A_k)
    const av = a.floats();
    const want = [0, 1, 2, 3].map((p) => Math.max(0, fd.reduce((s, w, k) => s + w * (av[k * 4 + p] ?? 0), 0)));
    close(r.maps[0] ?? [], want, 2e-3);
    // hirescam (the default): ReLU(Σ_k ∂logit/∂A_k(p) · A_k(p)), the gradient at each position, not its mean
    const hi = gradCam(expNetAt(net), x, [2]);
    close(hi.weights[0] ?? [], fd, 2e-3);
    const grad = (k: number, p: number): number => (logit(k, eps, p) - logit(k, -eps, p)) / (2 * eps);
    const wantHi = [0, 1, 2, 3].map((p) => Math.max(0, [0, 1, 2, 3, 4, 5].reduce((s, k) => s + grad(k, p) * (av[k * 4 + p] ?? 0), 0)));
    close(hi.maps[0] ?? [], wantHi, 2e-3);
    const [n1, n2] = [normaliseMap(Float32Array.from(want)), normaliseMap(Float32Array.from(wantHi))];
    assert.ok(n1.some((v, p) => Math.abs(v - (n2[p] ?? 0)) > 0.05), `the two methods differ on a flatten + FC head: ${n1.join(' ')} vs ${n2.join(' ')}`);
    a.dispose();
    x.dispose();
    net.dispose();
  });

  test('an ExpNet split after any block composes back to the whole net', () => {
    manualSeed(4);
    const net = new ExpNet({ inputSize: 32, widths: [4, 4, 4, 6, 6], fcHidden: 0, numClasses: 3 }).eval();
    const x = tensor(Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => Math.cos(i * 0.11)), [2, 1, 32, 32]);
    const want = noGrad(() => tidy(() => net.forward(x).floats()));
    for (let b = 1; b <= 5; b++) {
      const cam = expNetAt(net, b);
      const got = noGrad(() => tidy(() => cam.classify(cam.features(x)).floats()));
      close(got, Array.from(want), 1e-5);
      const side = noGrad(() => tidy(() => cam.features(x).shape[2]));
      assert.equal(side, 32 >> (b - 1));
    }
    assert.throws(() => expNetAt(net, 6), /block1\.\.block5/);
    x.dispose();
    net.dispose();
  });

  test('heat map helpers: normalisation, colour ends, bilinear sampling at cell centres', () => {
    close(normaliseMap(Float32Array.from([0, 2, 4])), [0, 0.5, 1]);
    close(normaliseMap(Float32Array.from([0, 0])), [0, 0]);
    assert.deepEqual(heatColour(0), [0, 0, 128]);
    assert.deepEqual(heatColour(1), [128, 0, 0]);
    const m = [0, 1, 2, 3];
    assert.equal(sampleMap(m, 2, 2, 0.25, 0.25), 0); // centre of cell (0, 0)
    assert.equal(sampleMap(m, 2, 2, 0.5, 0.5), 1.5);
    assert.equal(sampleMap(m, 2, 2, 0, 1), 2); // clamped at the border
    close(upsampleMap(m, 2, 2, 4, 4).slice(0, 4), [0, 0.25, 0.75, 1]);
  });
});
