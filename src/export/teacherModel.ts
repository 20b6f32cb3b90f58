/**
 * A fine-tuned face net as a deployable expression model: the `teacher.best.safetensors` checkpoint of an fn2en or
 * finetune run (src/train/trainMethod.ts) behind the same input as the student — an aligned 48×48 gray face in
 * [0, 1] — resized to the teacher's side and replicated to RGB inside the graph, exactly as training fed it
 * (`toTeacherInput`). So `expnet export` / `expnet bundle` can ship it, alone or averaged with students, and the
 * photo pipeline feeds it the crop it feeds every expnet model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { Module } from '../engine/module.js';
import { readSafetensors } from '../engine/safetensors.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { FaceNetClassifier } from '../nets/faceNetClassifier.js';
import type { ExpNetConfig } from '../nets/expNet.js';
import type { ModelCard } from '../nets/modelCard.js';
import { teacherEntry } from '../nets/teachers.js';
import { toTeacherInput } from '../train/imageSet.js';

/** The run files a teacher checkpoint is read with: config.json (teacher, student input) and results.json (labels, metrics). */
interface RunFiles {
  command?: string;
  data?: string;
  config: {
    seed: number;
    precision?: string;
    student: ExpNetConfig & { inputSize: number; inChannels: number };
    teacher: { net: string; inputSize: number; frozenUntil: string; stage: { epochs: number } };
    stageA: { target: string };
  };
}

interface RunResults {
  validation?: { labels?: string[]; accuracy?: number };
  test?: { labels?: string[]; accuracy?: number };
  testName?: string;
  stages?: { teacher?: { bestScore?: number } };
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new ExpnetError('BAD_MODEL', `${path}: cannot read the run's ${what} (${(err as Error).message})`, { cause: err });
  }
}

/** True when `path` is a fine-tuned face-net checkpoint (a run's teacher.best / teacher.last) rather than an expnet model. */
export function isTeacherCheckpoint(path: string): boolean {
  if (!path.endsWith('.safetensors') || !existsSync(path)) return false;
  const { tensors, metadata } = readSafetensors(path);
  return metadata['card'] === undefined && tensors.has('model.head.weight') && [...tensors.keys()].some((k) => k.startsWith('model.net.'));
}

/** The fine-tuned face net on the student's input (48×48 gray → teacher side, RGB), logits out. */
export class TeacherExpressionModel extends Module {
  constructor(readonly classifier: FaceNetClassifier, readonly teacherSize: number) {
    super();
    this.child('classifier', classifier);
  }

  forward(face: Tensor): Tensor {
    return tidy(() => this.classifier.forward(toTeacherInput(face, this.teacherSize)));
  }
}

/**
 * Loads a teacher checkpoint with the config.json and results.json of its run (the checkpoint's folder or the one
 * above it): the registry net, its fine-tuned layers and head, and a model card stating the teacher.
 */
export async function loadTeacherModel(path: string): Promise<{ model: TeacherExpressionModel; card: ModelCard }> {
  const dir = [dirname(path), dirname(dirname(path))].find((d) => existsSync(join(d, 'config.json')));
  if (!dir) throw new ExpnetError('NOT_FOUND', `${path}: a teacher checkpoint needs its run's config.json (in its folder or the one above) for the net and input`);
  const run = readJson<RunFiles>(join(dir, 'config.json'), 'config.json');
  const resultsPath = join(dir, 'results.json');
  if (!existsSync(resultsPath)) throw new ExpnetError('NOT_FOUND', `${path}: the run has no results.json (labels); export after the run has finished`);
  const results = readJson<RunResults>(resultsPath, 'results.json');
  const labels = results.validation?.labels ?? results.test?.labels;
  if (!labels || labels.length === 0) throw new ExpnetError('BAD_MODEL', `${resultsPath}: no label order (validation.labels)`);
  const { config } = run;
  const entry = teacherEntry(config.teacher.net);
  const net = await entry.create();
  const cls = new FaceNetClassifier(net, labels.length, config.teacher.frozenUntil, 0.5, entry);
  try {
    loadCheckpoint(path, { model: cls });
  } catch (err) {
    cls.dispose();
    throw err;
  }
  const model = new TeacherExpressionModel(cls, config.teacher.inputSize);
  model.eval();
  const teacherVal = results.stages?.teacher?.bestScore;
  const card: ModelCard = {
    name: `${entry.name}-finetuned`,
    task: 'expression',
    arch: 'face-net',
    input: { size: config.student.inputSize, channels: config.student.inChannels, range: [0, 1], layout: 'NCHW' },
    labels,
    config: { ...config.student, numClasses: labels.length },
    method: 'finetune',
    training: {
      data: run.data ?? '',
      command: run.command ?? '',
      seed: config.seed,
      ...(config.precision === 'bf16' || config.precision === 'fp32' ? { precision: config.precision } : {}),
      epochs: { teacher: config.teacher.stage.epochs },
      teacher: { net: entry.name, inputSize: config.teacher.inputSize, frozenUntil: config.teacher.frozenUntil, target: config.stageA.target },
    },
    metrics: teacherVal === undefined ? {} : { valAccuracy: teacherVal },
    licence: 'weights: MIT (expnet fine-tuning); the face net\'s own licence and the training data\'s terms apply',
    provenance: `expnet teacher fine-tuning (${path.split(/[\\/]/).slice(-2).join('/')}); face net: ${entry.provenance}; input ${config.student.inputSize}px gray resized to ${config.teacher.inputSize}px RGB inside the graph`,
    created: new Date().toISOString(),
  };
  return { model, card };
}
