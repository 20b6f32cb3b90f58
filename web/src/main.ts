/**
 * The page: opens on the bundled sample photo; a photo (picker, drag-and-drop onto the page, or paste) or the
 * webcam → WebRecognizer → boxes, labels and probability panels (the CLI's layout) and FPS on a canvas. The model
 * is chosen from the served models' index; the footer describes the loaded model from its card; the result
 * downloads as JSON and as the annotated PNG. The webcam's faces go through the shared FaceTracker
 * (webcamTracks.ts): track ids in their boxes, smoothed probabilities, FPS.
 */
import { layoutAnnotations } from '../../src/infer/annotationLayout.js';
import { canvasPng, resultJson, resultName, saveBlob } from './download.js';
import { drawLayout } from './drawLayout.js';
import type { ModelIndex } from '../../src/infer/bundleFiles.js';
import { trackedLayout, WebcamTracks } from './webcamTracks.js';
import { WebRecognizer, type WebFace, type WebImageResult } from './webRecognizer.js';

/** What the page exposes for tests and curious users (window.expnet). */
export interface PageState {
  ready: boolean;
  backend: string;
  faces: WebFace[];
  fps: number;
  frames: number;
  /** Track ids of the faces shown (webcam: stable across frames; a photo: none). */
  tracks: number[];
  error: string | null;
  /** What the canvas shows: 'sample', 'file', 'drop', 'paste' or 'webcam'. */
  source: string;
  /** The last layout's placement of the panels ('beside' the faces or in a side 'strip'). */
  placement: string;
  /** The expression model loaded (its card's name) and the ones the select box offers. */
  model: string;
  models: string[];
}

const state: PageState = { ready: false, backend: '', faces: [], fps: 0, frames: 0, tracks: [], error: null, source: '', placement: '', model: '', models: [] };
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
const modelSelect = el<HTMLSelectElement>('model');
const about = el<HTMLElement>('about');
const saveJson = el<HTMLButtonElement>('save-json');
const savePng = el<HTMLButtonElement>('save-png');
const ctx = canvas.getContext('2d');
if (!ctx) throw new Error('no 2d canvas context');
const g = ctx;

let rec: WebRecognizer | null = null;
let stream: MediaStream | null = null;
/** The last result drawn, and the name of what it came from (for the downloads). */
let last: { result: WebImageResult; name: string } | null = null;
/** The last photo shown, to run again when another model is chosen. */
let lastPhoto: { file: Blob; source: string; name: string } | null = null;
/** The webcam's tracks and FPS meter (reset for each new stream). */
const webcam = new WebcamTracks();

function say(text: string): void {
  status.textContent = text;
}

function fail(err: unknown): void {
  state.error = (err as Error).message ?? String(err);
  say(`error: ${state.error}`);
}

/** One photo or webcam frame, annotated; `tracks` (the webcam): faces tracked across frames, ids drawn, FPS measured. */
async function show(src: CanvasImageSource, width: number, height: number, name: string, tracks?: WebcamTracks): Promise<WebFace[]> {
  if (!rec) throw new Error('the models are not loaded yet');
  const result = await rec.detect(src as CanvasImageSource & { width: number; height: number }, width, height);
  last = { result: { ...result, input: name }, name };
  saveJson.disabled = false;
  savePng.disabled = false;
  const found = result.faces;
  const tracked = tracks?.frame(found, performance.now());
  const faces = tracked?.faces ?? found;
  const layout = tracked ? trackedLayout({ width, height }, tracked.faces, rec.labels) : layoutAnnotations({ width, height }, faces, rec.labels);
  state.tracks = tracked?.faces.map((f) => f.track) ?? [];
  if (tracked) {
    state.fps = tracked.fps;
    fpsText.textContent = `${tracked.fps.toFixed(1)} FPS · tracks ${tracked.faces.map((f) => `#${f.track}`).join(' ') || 'none'}`;
  }
  if (canvas.width !== layout.width || canvas.height !== layout.height) {
    canvas.width = layout.width;
    canvas.height = layout.height;
  }
  g.fillStyle = '#202020';
  g.fillRect(0, 0, layout.width, layout.height);
  g.drawImage(src, 0, 0, width, height);
  drawLayout(g, layout);
  state.faces = faces;
  state.placement = layout.placement;
  return faces;
}

async function onPhoto(file: Blob, source: string, name = file instanceof File ? file.name : `${source}.png`): Promise<void> {
  stopWebcam();
  lastPhoto = { file, source, name };
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const t0 = performance.now();
  const faces = await show(bitmap, bitmap.width, bitmap.height, name);
  bitmap.close();
  say(`${faces.length} face(s) in ${(performance.now() - t0).toFixed(0)} ms: ${faces.map((f) => f.label).join(', ') || 'none'}`);
  state.source = source;
  state.frames++;
}

/** The first image among dropped or pasted items, if any. */
function imageOf(items: DataTransfer | null): File | null {
  for (const f of Array.from(items?.files ?? [])) if (f.type.startsWith('image/')) return f;
  return null;
}

function stopWebcam(): void {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  camButton.textContent = 'Use webcam';
}

async function webcamLoop(): Promise<void> {
  webcam.reset();
  while (stream) {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      await show(video, video.videoWidth, video.videoHeight, 'webcam', webcam);
      state.frames++;
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

async function startWebcam(): Promise<void> {
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  await video.play();
  camButton.textContent = 'Stop webcam';
  state.source = 'webcam';
  say('webcam: running');
  await webcamLoop();
}

fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) onPhoto(f, 'file').catch(fail);
});
// drag-and-drop anywhere on the page, and paste (Ctrl/Cmd+V) of an image
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dropping');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dropping');
  const f = imageOf(e.dataTransfer);
  if (!rec) say('the models are still loading: drop the photo again in a moment');
  else if (f) onPhoto(f, 'drop').catch(fail);
  else say('that was not an image file');
});
document.addEventListener('paste', (e) => {
  const f = imageOf(e.clipboardData);
  if (f && rec) {
    e.preventDefault();
    onPhoto(f, 'paste').catch(fail);
  }
});

/** The bundled sample photo (examples/astronaut.png, copied by web/build.ts): shown at once, annotated when the models are ready. */
const sample = fetch('sample.png').then(async (res) => {
  if (!res.ok) throw new Error(`sample.png: HTTP ${res.status}`);
  return res.blob();
});
sample
  .then(async (blob) => {
    if (state.frames > 0) return;
    const bitmap = await createImageBitmap(blob);
    [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
    g.drawImage(bitmap, 0, 0);
    bitmap.close();
  })
  .catch(fail);

async function showSample(): Promise<void> {
  if (state.frames === 0) await onPhoto(await sample, 'sample', 'sample.png');
}
camButton.addEventListener('click', () => {
  if (stream) stopWebcam();
  else startWebcam().catch(fail);
});

saveJson.addEventListener('click', () => {
  if (last) saveBlob(resultJson(last.result, state.model), `${resultName(last.name)}.json`);
});
savePng.addEventListener('click', () => {
  const name = last?.name ?? 'frame';
  canvasPng(canvas).then((png) => saveBlob(png, `${resultName(name)}.png`)).catch(fail);
});

/** The footer: the loaded model's name, labels and training data, from its card. */
function describeModel(r: WebRecognizer): string {
  const data = r.card.training?.data;
  const card = r.card.name !== r.expressionModel ? ` (card ${r.card.name})` : '';
  return `Model ${r.expressionModel}${card}: ${r.labels.join(', ')}${data ? ` (trained on ${data})` : ''}. A research model: do not use it to judge people.`;
}

/** Loads `model` (undefined: the index's default), replacing the current recognizer; runs the last photo again. */
let index: ModelIndex | null = null;

async function load(model: string | undefined): Promise<void> {
  modelSelect.disabled = true;
  const next = await WebRecognizer.create({ onProgress: say, ...(model === undefined ? {} : { expressionModel: model }), ...(index ? { index } : {}) });
  const old = rec;
  rec = next;
  await old?.dispose();
  state.model = next.expressionModel;
  state.backend = next.backend;
  state.ready = true;
  el<HTMLElement>('backend').textContent = next.backend;
  about.textContent = describeModel(next);
  modelSelect.value = next.expressionModel;
  modelSelect.disabled = false;
  fileInput.disabled = false;
  camButton.disabled = false;
  const ready = ` — ready (${next.expressionModel}, ONNX Runtime Web on ${next.backend}, ${next.detectorPrecision} detector): pick, drop or paste a photo, or start the webcam`;
  if (state.frames === 0) await showSample();
  else if (lastPhoto && !stream) await onPhoto(lastPhoto.file, lastPhoto.source, lastPhoto.name);
  if (!stream) say(`${status.textContent ?? ''}${ready}`);
}

modelSelect.addEventListener('change', () => {
  load(modelSelect.value).catch(fail);
});

// a folder served without its index (static hosting of another layout) still loads the default model
WebRecognizer.models()
  .catch(() => null)
  .then((found) => {
    index = found;
    state.models = index?.models.map((m) => m.name) ?? [];
    for (const m of index?.models ?? []) {
      const option = new Option(m.name, m.name);
      option.title = m.data;
      modelSelect.add(option);
    }
    return load(index?.default);
  })
  .catch(fail);
