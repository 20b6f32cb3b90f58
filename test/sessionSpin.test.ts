/**
 * SessionOptions.spinWait: off by default in Node (ONNX Runtime's worker threads sleep between runs; spinning ones
 * starved the JS thread and ffmpeg, a video at 2 threads ran 3.5× slower), passed to ONNX Runtime as its
 * allow_spinning session entries; on, nothing is passed (ONNX Runtime's own default); checked by the resolver.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferSession, type OrtRuntime, type OrtSessionCreateOptions } from '../src/infer/ortSession.js';
import { resolveSessionOptions, SESSION_DEFAULTS } from '../src/infer/session.js';

/** A runtime that records the options sessions are created with. */
function recording(): { runtime: OrtRuntime; seen: OrtSessionCreateOptions[] } {
  const seen: OrtSessionCreateOptions[] = [];
  const session = { inputNames: ['x'], outputNames: ['y'], run: async () => ({}), release: async () => undefined };
  const runtime = {
    InferenceSession: { create: async (_m: Uint8Array | string, o?: OrtSessionCreateOptions) => (seen.push(o ?? {}), session) },
    Tensor: class {},
  } as unknown as OrtRuntime;
  return { runtime, seen };
}

test('spinWait: off by default (allow_spinning 0 for both pools), on passes nothing, anything else is refused', async () => {
  assert.equal(SESSION_DEFAULTS.spinWait, false);
  const { runtime, seen } = recording();
  await InferSession.open(runtime, new Uint8Array(4), resolveSessionOptions({ intraOpThreads: 2 }));
  assert.deepEqual(seen[0]?.extra, { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
  assert.equal(seen[0]?.intraOpNumThreads, 2);
  await InferSession.open(runtime, new Uint8Array(4), resolveSessionOptions({ intraOpThreads: 2, spinWait: true }));
  assert.equal(seen[1]?.extra, undefined);
  assert.throws(() => resolveSessionOptions({ spinWait: 'no' as unknown as boolean }), /spinWait must be true or false/);
});
