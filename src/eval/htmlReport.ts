/**
 * The self-contained evaluation report: one HTML file with inline CSS, charts as SVG data URIs (each in
 * its own document, so their internal ids cannot clash) and thumbnails as PNG data URIs; no scripts, no
 * network.
 */
import type { CvComparison, ModelComparison } from './compare.js';
import type { Evaluation } from './evaluation.js';
import { comparisonHtml, confusionHtml, cvHtml, esc, pct, perClassHtml } from './htmlTables.js';

export interface ModelSection {
  evaluation: Evaluation;
  /** Which samples were evaluated, in words (e.g. "split PublicTest, 3,589 images"). */
  split: string;
  /** Samples left out because the model has no such class, per label. */
  dropped: Record<string, number>;
  /** Said first, in the warning style (e.g. the evaluated set overlaps the model's training data). */
  warnings: string[];
  /** Files that could not be decoded. */
  skipped: number;
  svgs: { confusion: string; perClass: string; reliability: string };
  /** PNG data URIs, aligned with evaluation.mistakes ('' = no thumbnail). */
  thumbnails: string[];
}

export interface ReportPage {
  title: string;
  generated: string;
  command: string;
  models: ModelSection[];
  comparison?: { data: ModelComparison; svg: string };
  cv?: { data: CvComparison; svg: string; confusions: { method: string; svg: string }[] };
  curves?: { source: string; svg: string };
}

const CSS = `body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{border-bottom:2px solid #4c78a8;padding-bottom:3px;margin-top:36px}h3{margin-top:22px}
.meta{color:#666;font-size:.9em}.cards{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}
.card{background:#f3f6fa;border-radius:6px;padding:10px 16px;min-width:130px}.card b{display:block;font-size:1.5em;color:#1f4e79}
table{border-collapse:collapse;margin:10px 0;font-size:.9em}th,td{border:1px solid #ccd;padding:3px 8px}th{background:#eef2f7}
table.num td:not(:first-child){text-align:right}.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
figure{margin:8px 0}figure img.chart{max-width:100%}.gallery{display:flex;flex-wrap:wrap;gap:10px}
.mistake{width:112px;font-size:.75em;text-align:center}.mistake img{width:96px;height:96px;image-rendering:pixelated;border:1px solid #aaa}
.warn{color:#a15c00}code{background:#f3f3f3;padding:1px 4px}`;

export function svgDataUri(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

const figure = (svg: string, alt: string): string => `<figure><img class="chart" alt="${esc(alt)}" src="${svgDataUri(svg)}"></figure>`;

function cards(e: Evaluation): string {
  const c = (label: string, value: string): string => `<div class="card">${label}<b>${value}</b></div>`;
  return `<div class="cards">${c('accuracy', pct(e.metrics.accuracy))}${c('balanced accuracy', pct(e.metrics.balancedAccuracy))}${c('expected calibration error', pct(e.calibration.ece))}${c('mean confidence', pct(e.calibration.meanConfidence))}${c('samples', String(e.metrics.n))}</div>`;
}

function gallery(s: ModelSection): string {
  if (s.evaluation.mistakes.length === 0) return '<p>No mistakes.</p>';
  const items = s.evaluation.mistakes.map((m, i) => {
    const img = s.thumbnails[i] ? `<img alt="${esc(m.path)}" src="${s.thumbnails[i]}">` : '';
    return `<div class="mistake" title="${esc(m.path)}">${img}<br>true <b>${esc(m.truth)}</b><br>said <b>${esc(m.predicted)}</b> ${pct(m.confidence, 0)}<br>p(true) ${pct(m.truthProbability, 0)}</div>`;
  });
  return `<div class="gallery">${items.join('\n')}</div>`;
}

function modelSection(s: ModelSection, heading: boolean): string {
  const e = s.evaluation;
  const dropped = Object.entries(s.dropped);
  const notes = [
    ...s.warnings.map((w) => `<p class="warn"><b>Warning:</b> ${esc(w)}.</p>`),
    dropped.length > 0 ? `<p class="warn">Left out (classes the model does not have): ${dropped.map(([l, n]) => `${esc(l)} ${n}`).join(', ')}.</p>` : '',
    s.skipped > 0 ? `<p class="warn">${s.skipped} file(s) could not be decoded and were skipped.</p>` : '',
  ].join('');
  return `${heading ? `<h2>${esc(e.model)}</h2>` : ''}
<p class="meta">data set <b>${esc(e.dataSet)}</b>, ${esc(s.split)}</p>${notes}
${cards(e)}
<h3>Per class</h3><div class="row">${perClassHtml(e.metrics)}${figure(s.svgs.perClass, 'precision, recall and F1 per class')}</div>
<h3>Confusion</h3><div class="row">${figure(s.svgs.confusion, 'row-normalised confusion heat map')}${confusionHtml(e.metrics.confusion, e.metrics.labels)}</div>
<h3>Calibration</h3><div class="row">${figure(s.svgs.reliability, 'reliability diagram')}<p>Expected calibration error ${pct(e.calibration.ece)} (maximum gap ${pct(e.calibration.mce)}) over ${e.calibration.bins.length} equal-width confidence bins: the sample-weighted mean gap between confidence and accuracy.</p></div>
<h3>Most confident mistakes</h3>${gallery(s)}`;
}

/** The whole report page. */
export function reportHtml(p: ReportPage): string {
  const parts: string[] = [];
  if (p.comparison) parts.push(`<h2>Comparison</h2>${figure(p.comparison.svg, 'accuracy per model')}\n${comparisonHtml(p.comparison.data)}`);
  if (p.cv) {
    parts.push(`<h2>Cross-validation: ${esc(p.cv.data.dataSet)}, ${p.cv.data.folds.length} folds</h2>${figure(p.cv.svg, 'accuracy per fold')}\n${cvHtml(p.cv.data)}`);
    if (p.cv.confusions.length > 0) parts.push(`<h3>Pooled confusion per method</h3><div class="row">${p.cv.confusions.map((c) => figure(c.svg, `confusion of ${c.method}`)).join('')}</div>`);
  }
  p.models.forEach((s) => parts.push(modelSection(s, p.models.length > 1 || p.comparison !== undefined)));
  if (p.curves) parts.push(`<h2>Training curves</h2><p class="meta">from <code>${esc(p.curves.source)}</code></p>${figure(p.curves.svg, 'training curves')}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(p.title)}</title><style>${CSS}</style></head>
<body><h1>${esc(p.title)}</h1><p class="meta">${esc(p.generated)} · <code>${esc(p.command)}</code></p>
${parts.join('\n')}
</body></html>
`;
}
