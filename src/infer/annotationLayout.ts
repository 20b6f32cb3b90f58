/**
 * Where the annotations of a photo go — one layout for the CLI's PNGs (annotate.ts, SVG) and the browser's
 * canvas (web/src/drawLayout.ts). Each face gets a box and a probability panel (a header "label 93%" and one bar
 * per label). Panels never overlap each other and never leave the canvas: they are placed next to their face
 * (right, left, below or above, never over a face), shrinking the type down to a minimum; when
 * they still do not fit, the canvas grows a side strip where the panels are stacked, numbered like their faces.
 * Plain arithmetic, no DOM and no Node APIs (text widths are estimated from the font size).
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutText {
  text: string;
  /** Left end of the baseline-free text box (top-left corner; the text is drawn with top baseline). */
  x: number;
  y: number;
}

export interface PanelRow {
  label: string;
  probability: number;
  text: LayoutText;
  /** The bar's full track; the filled part is `probability × track.width`. */
  track: Rect;
}

export interface FaceLayout {
  box: Rect;
  label: string;
  panel: Rect;
  header: LayoutText;
  rows: PanelRow[];
  /** The face's number drawn in its box (side-strip layouts only). */
  tag: LayoutText | null;
}

export interface AnnotationLayout {
  /** The canvas: the image's size, or wider when a side strip holds the panels. */
  width: number;
  height: number;
  /** Font size in px (every text of the layout), and the box outline width. */
  font: number;
  lineWidth: number;
  faces: FaceLayout[];
  /** Where the panels went. */
  placement: 'beside' | 'strip';
}

export interface AnnotatedFace {
  box: Rect;
  label: string;
  confidence: number;
  expressions: Record<string, number>;
}

/** The colour of each label's box and bar (CLI and browser). */
export const LABEL_COLOURS: Readonly<Record<string, string>> = {
  anger: '#e53935', disgust: '#8e24aa', fear: '#7e57c2', happy: '#fdd835', sadness: '#1e88e5', surprise: '#fb8c00', neutral: '#bdbdbd',
};
export const DEFAULT_COLOUR = '#00e0ff';

/** Estimated advance of one character of a sans-serif font, as a fraction of its size (generous: digits are 0.56). */
export const CHAR_WIDTH = 0.62;
/** The smallest type the panels shrink to before moving to the side strip. */
export const MIN_FONT = 9;

const textWidth = (s: string, font: number): number => s.length * CHAR_WIDTH * font;
const overlaps = (a: Rect, b: Rect): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (r: Rect, W: number, H: number): boolean => r.x >= 0 && r.y >= 0 && r.x + r.width <= W && r.y + r.height <= H;
const pct = (p: number): string => `${(100 * p).toFixed(0)}%`;

/** Panel size for `font`: a header row and one row per label (text column + bar). */
function panelSize(labels: readonly string[], headers: readonly string[], font: number): { width: number; height: number; row: number; pad: number; textW: number; barW: number } {
  const pad = Math.ceil(font * 0.3);
  const row = Math.ceil(font * 1.25);
  const textW = Math.ceil(Math.max(...labels.map((l) => textWidth(l, font)), 0)) + pad;
  const barW = Math.ceil(font * 5);
  const width = Math.ceil(Math.max(textW + barW, ...headers.map((h) => textWidth(h, font)))) + 2 * pad;
  return { width, height: row * (labels.length + 1) + 2 * pad, row, pad, textW, barW };
}

function fill(face: AnnotatedFace, labels: readonly string[], at: { x: number; y: number }, size: ReturnType<typeof panelSize>, header: string, tag: LayoutText | null): FaceLayout {
  const panel = { x: at.x, y: at.y, width: size.width, height: size.height };
  const x0 = at.x + size.pad;
  const rows = labels.map((label, i): PanelRow => {
    const y = at.y + size.pad + size.row * (i + 1);
    return {
      label,
      probability: face.expressions[label] ?? 0,
      text: { text: label, x: x0, y: y + (size.row - 0) * 0.1 },
      track: { x: x0 + size.textW, y: y + size.row * 0.2, width: size.barW, height: size.row * 0.6 },
    };
  });
  return { box: face.box, label: face.label, panel, header: { text: header, x: x0, y: at.y + size.pad + size.row * 0.1 }, rows, tag };
}

/** Spots next to a box, nearest first: right, left, below, above (each slid along the side to stay inside). */
function candidates(box: Rect, w: number, h: number, W: number, H: number, gap: number): { x: number; y: number }[] {
  const clampX = (x: number): number => Math.min(Math.max(0, x), W - w);
  const clampY = (y: number): number => Math.min(Math.max(0, y), H - h);
  const right = box.x + box.width + gap;
  const left = box.x - gap - w;
  const below = box.y + box.height + gap;
  const above = box.y - gap - h;
  const out: { x: number; y: number }[] = [];
  for (const dy of [0, -0.5, 0.5, -1, 1]) {
    out.push({ x: right, y: clampY(box.y + dy * h) }, { x: left, y: clampY(box.y + dy * h) });
  }
  for (const dx of [0, -0.5, 0.5, -1, 1]) out.push({ x: clampX(box.x + dx * w), y: below }, { x: clampX(box.x + dx * w), y: above });
  return out;
}

function beside(faces: readonly AnnotatedFace[], labels: readonly string[], W: number, H: number, font: number): FaceLayout[] | null {
  const headers = faces.map((f) => `${f.label} ${pct(f.confidence)}`);
  const size = panelSize(labels, headers, font);
  if (size.width > W || size.height > H) return null;
  const gap = Math.ceil(font * 0.3);
  const order = faces.map((_, i) => i).sort((a, b) => (faces[a]?.box.x ?? 0) - (faces[b]?.box.x ?? 0));
  const placed: Rect[] = [];
  const out: FaceLayout[] = new Array<FaceLayout>(faces.length);
  for (const i of order) {
    const f = faces[i] as AnnotatedFace;
    // a free spot next to the face that hides no face (its own included)
    const spot = candidates(f.box, size.width, size.height, W, H, gap)
      .map((p) => ({ ...p, width: size.width, height: size.height }))
      .find((r) => inside(r, W, H) && !placed.some((q) => overlaps(r, q)) && !faces.some((g) => overlaps(r, g.box)));
    if (!spot) return null;
    placed.push(spot);
    out[i] = fill(f, labels, spot, size, headers[i] ?? '', null);
  }
  return out;
}

/** Panels stacked in columns right of the image (the canvas grows), each numbered like its face's tag. */
function strip(faces: readonly AnnotatedFace[], labels: readonly string[], W: number, H: number, font: number): { faces: FaceLayout[]; width: number; height: number } {
  const headers = faces.map((f, i) => `${i + 1}: ${f.label} ${pct(f.confidence)}`);
  const size = panelSize(labels, headers, font);
  const gap = Math.ceil(font * 0.5);
  const perColumn = Math.max(1, Math.floor((H - gap) / (size.height + gap)));
  const columns = Math.ceil(faces.length / perColumn);
  const height = Math.max(H, gap + Math.min(faces.length, perColumn) * (size.height + gap));
  const width = W + gap + columns * (size.width + gap);
  const out = faces.map((f, i) => {
    const at = { x: W + gap + Math.floor(i / perColumn) * (size.width + gap), y: gap + (i % perColumn) * (size.height + gap) };
    const tag = { text: String(i + 1), x: Math.max(0, f.box.x) + font * 0.2, y: Math.max(0, f.box.y) + font * 0.1 };
    return fill(f, labels, at, size, headers[i] ?? '', tag);
  });
  return { faces: out, width, height };
}

/** The layout of every face's box and panel on a W×H image. */
export function layoutAnnotations(image: { width: number; height: number }, faces: readonly AnnotatedFace[], labels: readonly string[]): AnnotationLayout {
  const { width: W, height: H } = image;
  const start = Math.max(12, Math.round(Math.min(W, H) / 45));
  const lineWidth = Math.max(2, Math.round(start / 6));
  for (let font = start; font >= MIN_FONT; font = font > MIN_FONT && Math.floor(font * 0.85) < MIN_FONT ? MIN_FONT : Math.floor(font * 0.85)) {
    const placed = beside(faces, labels, W, H, font);
    if (placed) return { width: W, height: H, font, lineWidth, faces: placed, placement: 'beside' };
    if (font === MIN_FONT) break;
  }
  const font = Math.max(MIN_FONT, Math.min(start, 14));
  const s = strip(faces, labels, W, H, font);
  return { width: s.width, height: s.height, font, lineWidth, faces: s.faces, placement: 'strip' };
}

/** Every rectangle a layout draws text or bars in, per face (for tests: panels, their rows, their texts). */
export function layoutBoxes(l: AnnotationLayout): { panel: Rect; parts: Rect[] }[] {
  const text = (t: LayoutText): Rect => ({ x: t.x, y: t.y, width: textWidth(t.text, l.font), height: l.font });
  return l.faces.map((f) => ({ panel: f.panel, parts: [text(f.header), ...f.rows.flatMap((r) => [text(r.text), r.track])] }));
}

/** Each face's track id (`#3`) in its box, after its side-strip number if it has one (video frames, the webcam). */
export function tagTracks(l: AnnotationLayout, faces: readonly { track: number }[]): AnnotationLayout {
  l.faces.forEach((f, i) => {
    const id = `#${faces[i]?.track ?? i + 1}`;
    f.tag = { text: f.tag ? `${f.tag.text} ${id}` : id, x: f.box.x + l.lineWidth * 2, y: f.box.y + l.lineWidth * 2 };
  });
  return l;
}
