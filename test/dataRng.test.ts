import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/data/rng.js';

test('seeded, reproducible, resumable from a serialised state', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => new Rng(124).next()));
  const state = JSON.parse(JSON.stringify(a.getState())) as number[];
  const ahead = Array.from({ length: 5 }, () => a.next());
  const r = Rng.fromState(state);
  assert.deepEqual(Array.from({ length: 5 }, () => r.next()), ahead);
  assert.throws(() => r.setState([1, 2, 3]), /4 unsigned 32-bit integers/);
});

test('next in [0,1), int in range and roughly uniform, shuffle is a permutation', () => {
  const rng = new Rng(7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const x = rng.next();
    assert.ok(x >= 0 && x < 1);
    const k = rng.int(10);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  assert.ok(counts.every((c) => c > 1800 && c < 2200), counts.join(','));
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = rng.shuffle(items.slice());
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual(shuffled.slice().sort((p, q) => p - q), items);
  assert.throws(() => rng.int(0), /Rng\.int/);
});
