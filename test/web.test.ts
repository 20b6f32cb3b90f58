/**
 * The browser app end to end in headless Chromium (playwright-core + /usr/bin/chromium): build web/ into a temp
 * dir, serve it with webRoutes, feed the sample photo (one face, 'happy'), then the webcam path on Chromium's
 * fake capture from a .y4m of the same photo, measuring frames per second; a screenshot is left in the temp dir.
 * Skips when Chromium or playwright-core is absent. EXPNET_CHROMIUM overrides the browser path.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import sharp from 'sharp';
import { buildWeb } from '../web/build.js';
import { webRoutes } from '../src/serve/webRoutes.js';
import { packageRoot } from '../src/engine/native.js';

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
  error: string | null;
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
  const { dir: dist } = await buildWeb(join(work, 'dist'));
  const y4m = join(work, 'astronaut.y4m');
  writeFileSync(y4m, await y4mOf(SAMPLE, 640, 480, 2));
  const app = Fastify();
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
    await page.goto(`${url}/`);
    assert.match((await page.textContent('#privacy')) ?? '', /Nothing is uploaded/);
    const state = (): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { expnet: PageState }).expnet);
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { expnet?: PageState }).expnet;
      return s !== undefined && (s.ready || s.error !== null);
    }, undefined, { timeout: 120_000 });
    const loaded = await state();
    assert.equal(loaded.error, null, `page error: ${loaded.error}\n${logs.join('\n')}`);
    t.diagnostic(`backend: ${loaded.backend}, crossOriginIsolated: ${await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated)}`);

    // the photo path
    await page.setInputFiles('#photo', SAMPLE);
    await page.waitForFunction(() => (globalThis as unknown as { expnet: PageState }).expnet.frames >= 1 || (globalThis as unknown as { expnet: PageState }).expnet.error !== null, undefined, { timeout: 60_000 });
    const photo = await state();
    assert.equal(photo.error, null, `page error: ${photo.error}`);
    assert.equal(photo.faces.length, 1, `faces: ${JSON.stringify(photo.faces)}`);
    assert.equal(photo.faces[0]?.label, 'happy');
    t.diagnostic(`photo: ${photo.faces.map((f) => `${f.label} ${f.confidence.toFixed(3)}`).join(', ')}; status: ${await page.textContent('#status')}`);
    await page.screenshot({ path: join(work, 'web-photo.png') });

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
    t.diagnostic(`webcam: ${fps.toFixed(2)} FPS measured (page says ${await page.textContent('#fps')}), label ${f1.faces[0]?.label}`);
    const shot = join(work, 'web-webcam.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshots: ${join(work, 'web-photo.png')}, ${shot}`);
  } finally {
    await browser.close();
    await app.close();
  }
});
