/** Determinism: the same manualSeed (initialisation, dropout, data) gives bitwise-identical training. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AdaptiveAvgPool2d, adam, BatchNorm2d, Conv2d, Dropout, F, Flatten, Linear, manualSeed, randint, randn, ReLU, Sequential, tidy,
  TrainStep, type Tensor,
} from '../src/engine/index.js';

/** Trains a small CNN with dropout for `steps` TrainStep steps on seeded random data; returns every state tensor's bytes. */
async function train(seed: number, steps = 20, useAsync = false): Promise<Map<string, Uint8Array>> {
  manualSeed(seed);
  const net = new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 4, 3, { stride: 2 }), new ReLU(),
    new AdaptiveAvgPool2d(2), new Flatten(), new Dropout(0.3), new Linear(16, 3),
  );
  const batch = (): [Tensor, Tensor] => [randn([8, 1, 8, 8]), randint(0, 3, [8])];
  const example = batch();
  const ts = new TrainStep((x, y) => tidy(() => F.crossEntropy(net.forward(x), y)), example, adam(net.parameters(), { lr: 0.01 }));
  for (const t of example) t.dispose();
  for (let s = 0; s < steps; s++) {
    const [x, y] = batch();
    const r = useAsync ? await ts.stepAsync([x, y]) : ts.step([x, y]);
    for (const t of [x, y, ...r.outputs]) t.dispose();
  }
  const out = new Map([...net.stateDict()].map(([k, t]) => {
    const d = t.data();
    return [k, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)] as const;
  }));
  ts.dispose();
  net.dispose();
  return out;
}

function sameBits(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): string[] {
  const differing: string[] = [];
  for (const [k, v] of a) if (Buffer.compare(Buffer.from(v), Buffer.from(b.get(k) ?? new Uint8Array(0))) !== 0) differing.push(k);
  return differing;
}

describe('determinism', () => {
  it('the same seed gives bitwise-identical weights after 20 steps', async () => {
    const a = await train(123);
    const b = await train(123);
    assert.equal(a.size, 10);
    assert.deepEqual(sameBits(a, b), []);
  });

  it('stepAsync is as deterministic as step', async () => {
    assert.deepEqual(sameBits(await train(321, 10), await train(321, 10, true)), []);
  });

  it('different seeds give different weights', async () => {
    const a = await train(123, 5);
    const b = await train(124, 5);
    assert.equal(sameBits(a, b).length, a.size);
  });
});
