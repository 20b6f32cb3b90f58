/**
 * Activations of one layer of a trained net over an image set, for the neuron study: an expnet model (card
 * or run checkpoint) exposes its conv blocks `block1`…`block5`; a fine-tuned face net (a run's
 * teacher checkpoint) exposes its ResNet blocks (e.g. `conv256_down_out`), fed the student images upsampled.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { maxPool2d } from '../engine/functional.js';
import type { Module } from '../engine/module.js';
import { noGrad } from '../engine/runtime.js';
import { readSafetensors } from '../engine/safetensors.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { ExpNet, type ExpNetConfig } from '../nets/expNet.js';
import { FACE_NET_BLOCKS, FaceNet, type FaceNetFeature } from '../nets/faceNet.js';
import { FaceNetClassifier } from '../nets/faceNetClassifier.js';
import { createPretrainedFaceNet } from '../nets/faceNetWeights.js';
import { loadExpNetModel } from '../nets/modelCard.js';
import { batchOf, toTeacherInput, type ImageSet } from '../train/imageSet.js';

export interface ActivationSource {
  /** 'expnet' or 'facenet'. */
  kind: 'expnet' | 'facenet';
  model: Module;
  layers: readonly string[];
  defaultLayer: string;
  /** The student's input size and channels (images are decoded at this size). */
  input: { size: number; channels: number };
  /** Layer output [N, C, h, w] for student images [N, C, size, size]. */
  run(x: Tensor, layer: string): Tensor;
}

export interface LayerActivations {
  images: number;
  units: number;
  height: number;
  width: number;
  /** images × units × height × width. */
  data: Float32Array;
}

function expnetSource(model: ExpNet): ActivationSource {
  const layers = model.blocks.map((_, i) => `block${i + 1}`);
  return {
    kind: 'expnet',
    model,
    layers,
    defaultLayer: 'block5',
    input: { size: model.config.inputSize, channels: model.config.inChannels },
    run: (x, layer) =>
      tidy(() => {
        const last = layers.indexOf(layer);
        let h = x;
        for (let i = 0; i <= last; i++) {
          h = (model.blocks[i] as Module).forward(h);
          if (i < last) h = maxPool2d(h, 2);
        }
        return h;
      }),
  };
}

function faceNetSource(model: Module, net: FaceNet, input: { size: number; channels: number }): ActivationSource {
  return {
    kind: 'facenet',
    model,
    layers: FACE_NET_BLOCKS.map(([n]) => n),
    defaultLayer: 'conv256_down_out',
    input,
    run: (x, layer) => net.featureAt(toTeacherInput(x), layer as FaceNetFeature),
  };
}

/** The name that selects face-api's pretrained (identity) face net, not fine-tuned on expressions. */
export const PRETRAINED_FACE_NET = 'facenet:pretrained';

/** The student config saved with a run (config.json next to the fold folder or in it). */
function runStudentConfig(path: string): Partial<ExpNetConfig> {
  for (const dir of [dirname(path), dirname(dirname(path))]) {
    const f = join(dir, 'config.json');
    if (existsSync(f)) {
      const c = JSON.parse(readFileSync(f, 'utf8')) as { config?: { student?: Partial<ExpNetConfig> } };
      if (c.config?.student) return c.config.student;
    }
  }
  throw new ExpnetError('NOT_FOUND', `${path}: an expnet checkpoint needs its run's config.json (in its folder or the one above) for the architecture`);
}

/**
 * Opens a model for the neuron study: an expnet model with a card, a run checkpoint — `stageB.best`
 * (expnet; architecture from the run's config.json) or `teacher.best` (the fine-tuned face net) — or
 * `facenet:pretrained` (face-api's identity net as published).
 */
export async function openActivationSource(path: string, studentInput = { size: 48, channels: 1 }): Promise<ActivationSource> {
  if (path === PRETRAINED_FACE_NET) {
    const net = await createPretrainedFaceNet();
    return faceNetSource(net, net, studentInput);
  }
  if (!existsSync(path)) throw new ExpnetError('NOT_FOUND', `${path}: no such model file`);
  const { tensors, metadata } = readSafetensors(path);
  if (metadata['card']) return expnetSource(loadExpNetModel(path).model);
  const shape = (k: string): readonly number[] | undefined => tensors.get(k)?.shape;
  if (shape('model.net.conv32_down.weight') && shape('model.head.weight')) {
    const classes = shape('model.head.weight')?.[0] ?? 0;
    const cls = new FaceNetClassifier(new FaceNet(), classes);
    loadCheckpoint(path, { model: cls });
    return faceNetSource(cls.eval(), cls.net as unknown as FaceNet, studentInput);
  }
  if (shape('model.block1.0.weight')) {
    const heads = [...tensors.keys()].filter((k) => /^model\.head\.\d+\.weight$/.test(k)).sort();
    const numClasses = shape(heads[heads.length - 1] ?? '')?.[0];
    const net = new ExpNet({ ...runStudentConfig(path), ...(numClasses ? { numClasses } : {}) });
    loadCheckpoint(path, { model: net });
    return expnetSource(net.eval());
  }
  throw new ExpnetError('BAD_MODEL', `${path}: neither an expnet model (with a card) nor an expnet / face-net run checkpoint`);
}

/** The layer's activation maps for every image of the set (eval mode, no autograd). */
export function collectActivations(src: ActivationSource, set: ImageSet, layer: string, batchSize = 64): LayerActivations {
  if (!src.layers.includes(layer)) throw new ExpnetError('BAD_CONFIG', `--layer ${layer}: this ${src.kind} net's layers are ${src.layers.join(', ')}`);
  src.model.eval();
  const n = set.y.length;
  let out: LayerActivations | null = null;
  noGrad(() => {
    for (let i = 0; i < n; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k);
      tidy(() => {
        const { x, y } = batchOf(set, idx, null, null);
        y.dispose();
        const a = src.run(x, layer);
        const [, units = 0, height = 0, width = 0] = a.shape;
        out ??= { images: n, units, height, width, data: new Float32Array(n * units * height * width) };
        out.data.set(a.floats(), i * units * height * width);
      });
    }
  });
  if (!out) throw new ExpnetError('BAD_INPUT', 'no images to collect activations from');
  return out;
}
