/**
 * Builds and writes the evaluation report: per-model sections (metrics, confusion, calibration, mistakes),
 * an optional comparison of several models (McNemar), an optional cross-validation summary and training
 * curves; report.html (self-contained), report.json, and every chart as SVG (and PNG on request).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CvSummary } from '../train/experiment.js';
import type { ImageSet } from '../train/imageSet.js';
import { comparisonChart, confusionChart, foldsChart, perClassChart, reliabilityChart, trainingCurvesChart } from './charts.js';
import { compareCv, compareModels, type CvComparison, type ModelComparison } from './compare.js';
import { evaluatePredictions, type Evaluation } from './evaluation.js';
import { reportHtml, type ModelSection, type ReportPage } from './htmlReport.js';
import type { Predictions } from './predictions.js';
import { chartSvg, svgToPng } from './renderChart.js';
import { thumbnails } from './thumbnails.js';
import type { CurvePoint } from './trainingLog.js';

export interface ReportModel {
  predictions: Predictions;
  /** Decoded inputs row-aligned with the predictions (thumbnails of mistakes); null: no gallery images. */
  images: ImageSet | null;
  dropped: Record<string, number>;
  split: string;
  /** Said above the model's numbers (e.g. that the evaluated set overlaps its training data). */
  warnings?: string[];
}

export interface ReportOptions {
  title: string;
  command: string;
  /** Mistakes in the gallery per model (default 24). */
  mistakes?: number;
  /** Calibration bins (default 10). */
  bins?: number;
  cv?: CvSummary;
  curves?: { source: string; points: CurvePoint[] };
}

export interface ReportJson {
  generated: string;
  command: string;
  models: (Evaluation & { split: string; dropped: Record<string, number>; warnings: string[] })[];
  comparison?: ModelComparison;
  cv?: CvComparison;
}

export interface BuiltReport {
  html: string;
  json: ReportJson;
  /** Chart name → SVG. */
  charts: Record<string, string>;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60);

export async function buildReport(models: readonly ReportModel[], o: ReportOptions): Promise<BuiltReport> {
  const generated = new Date().toISOString();
  const charts: Record<string, string> = {};
  const sections: ModelSection[] = [];
  const evaluations: ReportJson['models'] = [];
  for (const [i, m] of models.entries()) {
    const e = evaluatePredictions(m.predictions, { mistakes: o.mistakes ?? 24, bins: o.bins ?? 10 });
    const key = models.length > 1 ? `${i + 1}-${slug(e.model)}-` : '';
    const svgs = {
      confusion: await chartSvg(confusionChart(e.metrics.confusion, e.metrics.labels)),
      perClass: await chartSvg(perClassChart(e.metrics)),
      reliability: await chartSvg(reliabilityChart(e.calibration)),
    };
    charts[`${key}confusion`] = svgs.confusion;
    charts[`${key}per-class`] = svgs.perClass;
    charts[`${key}reliability`] = svgs.reliability;
    const thumbs = m.images ? await thumbnails(m.images, e.mistakes.map((x) => x.row)) : [];
    const warnings = m.warnings ?? [];
    sections.push({ evaluation: e, split: m.split, dropped: m.dropped, warnings, skipped: m.images?.skipped.length ?? 0, svgs, thumbnails: thumbs });
    evaluations.push({ ...e, split: m.split, dropped: m.dropped, warnings });
  }
  const page: ReportPage = { title: o.title, generated, command: o.command, models: sections };
  const json: ReportJson = { generated, command: o.command, models: evaluations };
  if (models.length > 1) {
    const data = compareModels(models.map((m) => m.predictions));
    charts['comparison'] = await chartSvg(comparisonChart(data));
    page.comparison = { data, svg: charts['comparison'] };
    json.comparison = data;
  }
  if (o.cv) {
    const data = compareCv(o.cv);
    charts['folds'] = await chartSvg(foldsChart(data));
    const confusions: { method: string; svg: string }[] = [];
    for (const [method, s] of Object.entries(o.cv.methods)) {
      const svg = await chartSvg(confusionChart(s.confusion, o.cv.labels, `${method} (pooled over folds)`));
      charts[`cv-confusion-${slug(method)}`] = svg;
      confusions.push({ method, svg });
    }
    page.cv = { data, svg: charts['folds'], confusions };
    json.cv = data;
  }
  if (o.curves && o.curves.points.length > 0) {
    charts['training-curves'] = await chartSvg(trainingCurvesChart(o.curves.points));
    page.curves = { source: o.curves.source, svg: charts['training-curves'] };
  }
  return { html: reportHtml(page), json, charts };
}

/** Writes report.html, report.json and charts/<name>.svg (+ .png when `png`); returns the paths written. */
export async function writeReport(dir: string, r: BuiltReport, png = false): Promise<string[]> {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  const files = [join(dir, 'report.html'), join(dir, 'report.json')];
  writeFileSync(files[0] as string, r.html);
  writeFileSync(files[1] as string, JSON.stringify(r.json, null, 1) + '\n');
  for (const [name, svg] of Object.entries(r.charts)) {
    const f = join(dir, 'charts', `${name}.svg`);
    writeFileSync(f, svg);
    files.push(f);
    if (png) {
      writeFileSync(f.replace(/\.svg$/, '.png'), await svgToPng(svg));
      files.push(f.replace(/\.svg$/, '.png'));
    }
  }
  return files;
}
