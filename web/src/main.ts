/** The page: a photo or the webcam → WebRecognizer → boxes, labels, probability bars and FPS on a canvas. */
import { drawFaces } from './drawFaces.js';
import { WebRecognizer, type WebFace } from './webRecognizer.js';

/** What the page exposes for tests and curious users (window.expnet). */
export interface PageState {
  ready: boolean;
  backend: string;
  faces: WebFace[];
  fps: number;
  frames: number;
  error: string | null;
}

const state: PageState = { ready: false, backend: '', faces: [], fps: 0, frames: 0, error: null };
(globalThis as { expnet?: PageState }).expnet = state;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from the page`);
  return e as T;
}

const canvas = el<HTMLCanvasElement>('view');
const status = el<HTMLElement>('status');
const fpsText = el<HTMLElement>('fps');
const fileInput = el<HTMLInputElement>('photo');
const camButton = el<HTMLButtonElement>('webcam');
const video = el<HTMLVideoElement>('video');
const ctx = canvas.getContext('2d');
if (!ctx) throw new Error('no 2d canvas context');
const g = ctx;

let rec: WebRecognizer | null = null;
let stream: MediaStream | null = null;

function say(text: string): void {
  status.textContent = text;
}

function fail(err: unknown): void {
  state.error = (err as Error).message ?? String(err);
  say(`error: ${state.error}`);
}

async function show(src: CanvasImageSource, width: number, height: number): Promise<WebFace[]> {
  if (!rec) throw new Error('the models are not loaded yet');
  const faces = await rec.detect(src as CanvasImageSource & { width: number; height: number }, width, height);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  g.drawImage(src, 0, 0, width, height);
  drawFaces(g, faces, rec.labels);
  state.faces = faces;
  return faces;
}

async function onPhoto(file: File): Promise<void> {
  stopWebcam();
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const t0 = performance.now();
  const faces = await show(bitmap, bitmap.width, bitmap.height);
  say(`${faces.length} face(s) in ${(performance.now() - t0).toFixed(0)} ms: ${faces.map((f) => f.label).join(', ') || 'none'}`);
  state.frames++;
}

function stopWebcam(): void {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  camButton.textContent = 'Use webcam';
}

async function webcamLoop(): Promise<void> {
  let last = performance.now();
  let n = 0;
  while (stream) {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      await show(video, video.videoWidth, video.videoHeight);
      state.frames++;
      n++;
      const now = performance.now();
      if (now - last >= 1000) {
        state.fps = (1000 * n) / (now - last);
        fpsText.textContent = `${state.fps.toFixed(1)} FPS`;
        last = now;
        n = 0;
      }
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

async function startWebcam(): Promise<void> {
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  await video.play();
  camButton.textContent = 'Stop webcam';
  say('webcam: running');
  await webcamLoop();
}

fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) onPhoto(f).catch(fail);
});
camButton.addEventListener('click', () => {
  if (stream) stopWebcam();
  else startWebcam().catch(fail);
});

WebRecognizer.create({ onProgress: say })
  .then((r) => {
    rec = r;
    state.backend = r.backend;
    state.ready = true;
    el<HTMLElement>('backend').textContent = r.backend;
    fileInput.disabled = false;
    camButton.disabled = false;
    say(`ready (${r.card.name}, ONNX Runtime Web on ${r.backend}): pick a photo or start the webcam`);
  })
  .catch(fail);
