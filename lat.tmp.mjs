import { createRecognizer } from './dist/src/infer/recognizer.js';
const crop = Float32Array.from({ length: 48 * 48 }, (_, i) => ((i * 37) % 251) / 255);
for (const [dir, name] of [['/work/runs/cand-nodegflip', 'expnet-mix'], ['/work/runs/cand-nodegflip', 'expnet-fer2013']]) {
  const rec = await createRecognizer({ modelDir: dir, expressionModel: name, session: { intraOpThreads: 1 } });
  for (let i = 0; i < 50; i++) await rec.classify([crop]);
  const t = [];
  for (let r = 0; r < 15; r++) { const t0 = performance.now(); for (let i = 0; i < 10; i++) await rec.classify([crop]); t.push((performance.now() - t0) / 10); }
  t.sort((a, b) => a - b);
  console.log(name, 'median ms/face (stream, batch 1):', t[7].toFixed(3));
  await rec.dispose();
}
