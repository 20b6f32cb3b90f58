/**
 * The browser app end to end in headless Chromium (playwright-core + /usr/bin/chromium): build web/ into a temp
 * dir, serve it with webRoutes; the page opens on the bundled sample (one face, 'happy'), then takes a photo from
 * the file picker, a drop and a paste, then the webcam path on Chromium's fake capture from a .y4m of the same
 * photo, measuring frames per second; every file is fetched once, Brotli-compressed where the build made a .br
 * (Content-Encoding + Vary), the detector as the 8-bit file (not the float32 graph). The footer names the model
 * loaded (from its card); the select box offers the folder's models and switching reloads; the result downloads as
 * JSON and as the annotated PNG. Screenshots are left in the temp dir.
 * Skips when Chromium or playwright-core is absent. EXPNET_CHROMIUM overrides the browser path.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import sharp from 'sharp';
import { buildWeb } from '../web/build.js';
import { webRoutes } from '../src/serve/webRoutes.js';
import { packageRoot } from '../src/engine/native.js';
import { DETECTOR_FILE, DETECTOR_INT8_FILE } from '../src/infer/bundleFiles.js';
import { expressionModels } from '../src/infer/modelBundle.js';

const ROOT = packageRoot();
const SAMPLE = join(ROOT, 'examples', 'astronaut.png');
const CHROMIUM = process.env['EXPNET_CHROMIUM'] ?? '/usr/bin/chromium';

type Playwright = typeof import('playwright-core');
async function loadPlaywright(): Promise<Playwright | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

interface PageState {
  ready: boolean;
  backend: string;
  faces: { label: string; confidence: number; box: { width: number } }[];
  fps: number;
  frames: number;
  tracks: number[];
  error: string | null;
  source: string;
  placement: string;
  model: string;
  models: string[];
}

/** A YUV4MPEG2 (4:2:0) clip of `frames` copies of an image, for --use-file-for-fake-video-capture. */
async function y4mOf(image: string, width: number, height: number, frames: number): Promise<Buffer> {
  const rgb = await sharp(image).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc((width / 2) * (height / 2));
  const v = Buffer.alloc(u.length);
  for (let p = 0; p < width * height; p++) {
    const [r, g, b] = [rgb[3 * p] ?? 0, rgb[3 * p + 1] ?? 0, rgb[3 * p + 2] ?? 0];
    y[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    const px = p % width;
    const py = Math.floor(p / width);
    if (px % 2 === 0 && py % 2 === 0) {
      const q = (py / 2) * (width / 2) + px / 2;
      u[q] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      v[q] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, u, v]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`), ...Array.from({ length: frames }, () => frame)]);
}

const pw = await loadPlaywright();
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (set EXPNET_CHROMIUM)` : pw === null ? 'playwright-core is not installed' : false;

test('browser app: photo and webcam in headless Chromium', { skip, timeout: 300_000 }, async (t) => {
  if (pw === null) return;
  const work = mkdtempSync(join(tmpdir(), 'expnet-web-'));
  const built = await buildWeb(join(work, 'dist'));
  const dist = built.dir;
  const y4m = join(work, 'astronaut.y4m');
  writeFileSync(y4m, await y4mOf(SAMPLE, 640, 480, 2));
  const app = Fastify();
  const served = new Map<string, number>();
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0] ?? '';
    served.set(path, (served.get(path) ?? 0) + 1);
  });
  assert.equal(webRoutes(app, { dir: dist }), true);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const fetched = new Map<string, number>();
    const transfers: { path: string; encoding: string; vary: string; bytes: number }[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      fetched.set(path, (fetched.get(path) ?? 0) + 1);
    });
    page.on('response', (r) => {
      const h = r.headers();
      transfers.push({ path: new URL(r.url()).pathname, encoding: h['content-encoding'] ?? '', vary: h['vary'] ?? '', bytes: Number(h['content-length'] ?? 0) });
    });
    await page.goto(`${url}/`);
    assert.match((await page.textContent('#privacy')) ?? '', /Nothing is uploaded/);
    const state = (): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { expnet: PageState }).expnet);
    const framesAtLeast = (n: number): Promise<unknown> =>
      page.waitForFunction((k) => {
        const s = (globalThis as unknown as { expnet?: PageState }).expnet;
        return s !== undefined && (s.frames >= k || s.error !== null);
      }, n, { timeout: 120_000 });

    // opens on the bundled sample, annotated once the models are loaded
    await framesAtLeast(1);
    const opened = await state();
    assert.equal(opened.error, null, `page error: ${opened.error}\n${logs.join('\n')}`);
    assert.equal(opened.source, 'sample');
    assert.equal(opened.faces.length, 1, `faces: ${JSON.stringify(opened.faces)}`);
    assert.equal(opened.faces[0]?.label, 'happy');
    t.diagnostic(`backend: ${opened.backend}, crossOriginIsolated: ${await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated)}; sample: ${opened.faces.map((f) => `${f.label} ${f.confidence.toFixed(3)}`).join(', ')}, panels ${opened.placement}`);
    await page.screenshot({ path: join(work, 'web-sample.png') });

    // every file served once (the page may ask twice: a wasm worker imports the ORT .mjs again, from the cache);
    // the big ones Brotli-compressed, with Vary
    t.diagnostic(`requested by the page: ${[...fetched].map(([p, n]) => `${p}${n > 1 ? ` ×${n}` : ''}`).join(', ')}`);
    for (const [path, n] of served) assert.equal(n, 1, `${path} served ${n} times`);
    assert.ok(!fetched.has(`/models/${DETECTOR_FILE}`), 'the page loaded the float32 detector');
    for (const p of ['/main.js', '/ort/ort-wasm-simd-threaded.asyncify.wasm', `/models/${DETECTOR_INT8_FILE}`, '/models/face_landmark_68.onnx']) {
      const tr = transfers.find((x) => x.path === p);
      assert.ok(tr, `${p} was not fetched (fetched: ${[...fetched.keys()].join(', ')})`);
      assert.equal(tr.encoding, 'br', `${p}: content-encoding '${tr.encoding}'`);
      assert.match(tr.vary, /accept-encoding/i, `${p}: vary '${tr.vary}'`);
    }
    const sent = transfers.reduce((a, x) => a + x.bytes, 0);
    t.diagnostic(`first load: ${fetched.size} files, ${(sent / 2 ** 20).toFixed(1)} MiB over the wire (build: ${(built.bytes / 2 ** 20).toFixed(1)} MiB of files, ${(built.brotli / 2 ** 20).toFixed(1)} MiB with Brotli)`);
    assert.ok(sent < 0.4 * built.bytes, `sent ${sent} bytes of ${built.bytes}`);

    // the file picker, a drop and a paste of a photo (the sample mirrored)
    const mirrored = join(work, 'mirrored.png');
    writeFileSync(mirrored, await sharp(SAMPLE).flop().png().toBuffer());
    await page.setInputFiles('#photo', mirrored);
    await framesAtLeast(2);
    const picked = await state();
    assert.equal(picked.error, null, `page error: ${picked.error}`);
    assert.deepEqual([picked.source, picked.faces.length, picked.faces[0]?.label], ['file', 1, 'happy']);
    const b64 = readFileSync(mirrored).toString('base64');
    for (const [kind, frames] of [['drop', 3], ['paste', 4]] as const) {
      // a File in a DataTransfer, dispatched as the browser does for a drop or a paste (typed as a page script)
      await page.evaluate(`(() => {
        const bytes = Uint8Array.from(atob(${JSON.stringify(b64)}), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'photo.png', { type: 'image/png' }));
        const init = { bubbles: true, cancelable: true };
        document.body.dispatchEvent(${JSON.stringify(kind)} === 'drop' ? new DragEvent('drop', { ...init, dataTransfer: dt }) : new ClipboardEvent('paste', { ...init, clipboardData: dt }));
      })()`);
      await framesAtLeast(frames);
      const s = await state();
      assert.equal(s.error, null, `${kind}: page error: ${s.error}`);
      assert.deepEqual([s.source, s.faces.length, s.faces[0]?.label], [kind, 1, 'happy'], kind);
    }
    await page.screenshot({ path: join(work, 'web-photo.png') });

    // the footer names the loaded model (from its card); the select box offers the served folder's models
    const models = expressionModels(join(ROOT, 'models'));
    const s0 = await state();
    assert.deepEqual([...s0.models].sort(), models);
    assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => (o as unknown as { value: string }).value).sort()), models);
    assert.match((await page.textContent('#about')) ?? '', new RegExp(`^Model ${s0.model}[ :]`));
    // the result as downloads: JSON (the model and the faces) and the annotated PNG (the canvas)
    const download = async (button: string): Promise<{ name: string; bytes: Buffer }> => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      const path = join(work, d.suggestedFilename());
      await d.saveAs(path);
      return { name: d.suggestedFilename(), bytes: readFileSync(path) };
    };
    const json = await download('#save-json');
    const saved = JSON.parse(json.bytes.toString('utf8')) as { model: string; input: string; width: number; faces: { label: string }[] };
    assert.equal(json.name, 'photo.expnet.json');
    assert.deepEqual([saved.model, saved.input, saved.width, saved.faces.map((f) => f.label)], [s0.model, 'photo.png', (await sharp(mirrored).metadata()).width, ['happy']]);
    const png = await download('#save-png');
    assert.equal(png.name, 'photo.expnet.png');
    const canvasSize = await page.$eval('#view', (c) => [(c as unknown as { width: number }).width, (c as unknown as { height: number }).height]);
    const meta = await sharp(png.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', ...canvasSize]);
    // another model: loaded by name, the footer follows its card, the photo is run again
    const other = models.find((m) => m !== s0.model);
    if (other !== undefined) {
      const framesBefore = s0.frames;
      await page.selectOption('#model', other);
      await page.waitForFunction(([m, k]) => {
        const s = (globalThis as unknown as { expnet: PageState }).expnet;
        return (s.model === m && s.frames > Number(k)) || s.error !== null;
      }, [other, String(framesBefore)] as const, { timeout: 120_000 });
      const s1 = await state();
      assert.equal(s1.error, null, `model switch: ${s1.error}`);
      assert.match((await page.textContent('#about')) ?? '', new RegExp(`^Model ${other}[ :]`));
      assert.deepEqual([s1.faces.length, s1.faces[0]?.label], [1, 'happy']);
      t.diagnostic(`model switch: ${s0.model} → ${other}: ${s1.faces[0]?.label} ${s1.faces[0]?.confidence.toFixed(3)}`);
    }

    // the webcam path (fake capture of the same photo): frames per second over a measured window
    await page.click('#webcam');
    await page.waitForFunction(() => (globalThis as unknown as { expnet: PageState }).expnet.fps > 0 || (globalThis as unknown as { expnet: PageState }).expnet.error !== null, undefined, { timeout: 60_000 });
    const f0 = await state();
    assert.equal(f0.error, null, `page error: ${f0.error}`);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const f1 = await state();
    const fps = ((f1.frames - f0.frames) * 1000) / (Date.now() - t0);
    assert.ok(fps > 0, 'the webcam loop made no progress');
    assert.equal(f1.faces.length, 1, `webcam faces: ${JSON.stringify(f1.faces)}`);
    assert.deepEqual(f1.tracks, [1], 'the webcam face keeps track 1 (the shared FaceTracker)');
    assert.match((await page.textContent('#fps')) ?? '', /^\d+\.\d FPS · tracks #1$/);
    t.diagnostic(`webcam: ${fps.toFixed(2)} FPS measured (page says ${await page.textContent('#fps')}), label ${f1.faces[0]?.label}`);
    const shot = join(work, 'web-webcam.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshots: ${join(work, 'web-sample.png')}, ${join(work, 'web-photo.png')}, ${shot}`);
  } finally {
    await browser.close();
    await app.close();
  }
});
