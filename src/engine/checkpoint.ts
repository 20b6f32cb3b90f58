/**
 * Checkpoints: model state, optimiser state and libtorch's RNG state in one safetensors file (written
 * atomically), plus JSON-serialisable extras (epoch, data-order RNG, config) in its metadata.
 * Devices: values are always written as CPU data (a GPU run's checkpoint loads on a CPU-only machine), and loaded
 * into the model's tensors wherever they live; optimiser state is created on the model's device. The RNG state is
 * libtorch's CPU generator (a CUDA generator's state, used by dropout on a GPU, is not saved).
 */
import { ExpnetError } from '../errors.js';
import { tensor } from './creation.js';
import type { Module, RawTensor } from './module.js';
import type { Optimizer } from './optim.js';
import { getRngState, setRngState } from './runtime.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { Tensor, type Device } from './tensor.js';

const FORMAT = 'expnet-checkpoint-1';

export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer;
  /** Anything JSON-serialisable: epoch, step, data-order RNG state, resolved config. */
  extra?: unknown;
}

export function saveCheckpoint(path: string, parts: CheckpointParts): void {
  const owned: Tensor[] = [];
  const all = new Map<string, Tensor | RawTensor>();
  for (const [k, t] of parts.model.stateDict()) all.set(`model.${k}`, t);
  if (parts.optimizer) {
    for (const [k, t] of parts.optimizer.stateDict()) {
      owned.push(t);
      all.set(`optim.${k}`, t);
    }
  }
  const rng = getRngState();
  owned.push(rng);
  all.set('rng.torch', rng);
  try {
    writeSafetensors(path, all, {
      format: FORMAT,
      optimizer: parts.optimizer?.kind ?? '',
      extra: JSON.stringify(parts.extra ?? null),
    });
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Restores model (strict), optimiser and RNG state from `path`; returns the saved extras. */
export function loadCheckpoint(path: string, parts: CheckpointParts): unknown {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata['format'] !== FORMAT) throw new ExpnetError('BAD_WEIGHTS', `${path} is not an expnet checkpoint (format '${metadata['format'] ?? ''}')`);
  const model = new Map<string, RawTensor>();
  const optim = new Map<string, Tensor>();
  const device = parts.model.device as Device;
  try {
    for (const [k, raw] of tensors) {
      if (k.startsWith('model.')) model.set(k.slice(6), raw);
      else if (k.startsWith('optim.')) optim.set(k.slice(6), tensor(raw.data, raw.shape, { dtype: raw.dtype, device }));
    }
    parts.model.loadStateDict(model);
    if (parts.optimizer) {
      if (metadata['optimizer'] !== parts.optimizer.kind) {
        throw new ExpnetError('BAD_WEIGHTS', `${path} holds ${metadata['optimizer'] || 'no'} optimizer state, not ${parts.optimizer.kind}`);
      }
      parts.optimizer.loadStateDict(optim);
    }
    const rng = tensors.get('rng.torch');
    if (rng) {
      const t = tensor(rng.data, rng.shape, { dtype: 'uint8' });
      setRngState(t);
      t.dispose();
    }
  } finally {
    for (const t of optim.values()) t.dispose();
  }
  return JSON.parse(metadata['extra'] ?? 'null') as unknown;
}

/** Saves only the model's parameters and buffers (for deployment, or a Python user). */
export function saveWeights(path: string, model: Module, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, model.stateDict(), metadata);
}

export function loadWeights(path: string, model: Module, strict = true): Record<string, string> {
  const { tensors, metadata } = readSafetensors(path);
  model.loadStateDict(tensors, strict);
  return metadata;
}
