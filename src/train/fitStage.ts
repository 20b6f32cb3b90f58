/**
 * The epoch loop shared by every stage: one native call per step (TrainStep), LR warm-up + cosine decay,
 * progress reports, JSONL metrics, an atomic checkpoint each epoch, resume, a time limit, and model
 * selection on validation data (never on a test split).
 * Data parallel when a process group is initialised (src/engine/distributed.ts): rank 0's weights are broadcast
 * at the start, each rank trains on its slice of every global batch (distributedSampler.ts) with gradients
 * averaged inside the step, metrics are summed over ranks, and only rank 0 validates, logs, reports and writes
 * checkpoints. BatchNorm statistics stay per rank (as PyTorch DDP without SyncBatchNorm).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { Optimizer, type ParamGroup } from '../engine/optim.js';
import { broadcast, broadcastNumbers, allReduceNumbers, processGroup } from '../engine/distributed.js';
import { TrainStep } from '../engine/program.js';
import { autocastFor } from '../engine/autocast.js';
import { cosineLr, warmup } from '../engine/schedules.js';
import { disposeAll } from '../engine/scope.js';
import type { Module } from '../engine/module.js';
import type { Device, Tensor } from '../engine/tensor.js';
import { Rng } from '../data/rng.js';
import type { StageConfig } from './config.js';
import { ExpnetError } from '../errors.js';
import { distributedEpochBatches, minGlobalBatch, stepsPerEpoch } from './distributedSampler.js';
import type { RunContext } from './runContext.js';

export interface StageSpec {
  /** Checkpoint and log name, e.g. 'teacher', 'stageA', 'stageB'. */
  name: string;
  config: StageConfig;
  /** Switched to train()/eval(); its state is checkpointed. */
  model: Module;
  /** Trained parameters, or parameter groups with their own learning rates. */
  params: readonly Tensor[] | readonly ParamGroup[];
  /** Training-set size (batches are index lists into it). */
  size: number;
  /** The step's input tensors for a batch (disposed by the loop). */
  batch(idx: readonly number[], rng: Rng): Tensor[];
  /** Traced once: returns the scalar loss, then loss parts. */
  loss(...inputs: Tensor[]): Tensor[];
  partNames?: readonly string[];
  /**
   * Validation score, higher is better (e.g. accuracy); the best epoch's weights are kept. With `detail`
   * (e.g. accuracy per data set) it is logged next to the score as `valBySet`.
   */
  validate?: () => number | { score: number; detail: Record<string, number> };
  /** The epoch's data order (indices into 0..size-1, `size` of them) from the epoch's rng; default: a permutation. */
  order?: (rng: Rng) => number[];
}

export interface StageResult {
  epochsRun: number;
  bestScore: number | null;
  bestEpoch: number | null;
  /** True when the time limit stopped the stage early (resume to continue). */
  interrupted: boolean;
  seconds: number;
}

interface Saved {
  epoch: number;
  bestScore: number | null;
  bestEpoch: number | null;
}

/** A seed for (run seed, stage, epoch, step): batches are reproducible without carrying RNG state. */
export function derivedSeed(seed: number, stage: string, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of stage) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  for (const p of parts) h = Math.imul(h ^ (p + 0x632be5ab), 0x85ebca6b) >>> 0;
  return h;
}

/** Rank 0's parameters and buffers on every rank. */
async function syncModel(model: Module): Promise<void> {
  await broadcast([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)], 0);
}

/** Every rank must train the same stage on the same data: compares with rank 0. */
async function checkSameRun(name: string, rank: number, local: number[]): Promise<void> {
  const root = await broadcastNumbers(local, 0);
  if (root.some((v, i) => v !== local[i]))
    throw new ExpnetError('BAD_CONFIG', `${name}: rank ${rank} has [training images, batch size, epochs, resumed epoch] = [${local.join(', ')}] but rank 0 has [${root.join(', ')}] (same data, config and run folder on every host?)`);
}

export async function fitStage(ctx: RunContext, spec: StageSpec): Promise<StageResult> {
  const c = spec.config;
  const t0 = Date.now();
  const group = processGroup();
  const rank = group?.rank ?? 0;
  const world = group?.worldSize ?? 1;
  const main = rank === 0;
  if (c.batchSize < minGlobalBatch(world))
    throw new ExpnetError('BAD_CONFIG', `${spec.name}: batch size ${c.batchSize} is the global batch; ${world} processes need at least ${minGlobalBatch(world)} (2 images per process)`);
  const ckpt = join(ctx.dir, `${spec.name}.ckpt.safetensors`);
  const best = join(ctx.dir, `${spec.name}.best.safetensors`);
  const perEpoch = stepsPerEpoch(spec.size, c.batchSize, world);
  const total = Math.max(1, perEpoch * c.epochs);
  const warm = Math.min(total - 1, perEpoch * c.warmupEpochs);
  const schedule = warmup(warm, cosineLr(total - warm), 0.1);

  spec.model.train();
  // bf16: libtorch's autocast, with weights and 4-D inputs channels-last (oneDNN's bf16 convolutions skip their
  // layout reorders); the model is laid out contiguously again when the stage ends. Values are unchanged.
  const autocast = autocastFor(ctx.precision ?? 'fp32', spec.model.device as Device);
  if (autocast) spec.model.toMemoryFormat('channelsLast');
  const lossFn = autocast ? (...xs: Tensor[]): Tensor[] => spec.loss(...xs.map((x) => (x.shape.length === 4 ? x.contiguous('channelsLast') : x))) : (...xs: Tensor[]): Tensor[] => spec.loss(...xs);
  const exampleRng = new Rng(derivedSeed(ctx.seed, spec.name, -1));
  const example = spec.batch(Array.from({ length: Math.min(c.batchSize, spec.size) }, (_, i) => i), exampleRng);
  const optimizer = new Optimizer(c.optimizer, spec.params, { lr: c.lr, weightDecay: c.weightDecay, ...(c.optimizer === 'sgd' ? { momentum: c.momentum } : {}) });
  let step: TrainStep;
  try {
    step = new TrainStep(lossFn, example, optimizer, c.clipNorm, { ...(group ? { gradSync: {} } : {}), autocast });
  } catch (err) {
    optimizer.dispose();
    if (autocast) spec.model.toMemoryFormat('contiguous');
    throw err;
  } finally {
    disposeAll(example);
  }
  // Restore after tracing: the traced forward ran once for real (BN statistics, dropout RNG).
  let saved: Saved = { epoch: 0, bestScore: null, bestEpoch: null };
  let interrupted = false;
  let epoch = 0;
  try {
    if (ctx.resume && existsSync(ckpt)) {
      saved = loadCheckpoint(ckpt, { model: spec.model, optimizer }) as Saved;
      if (main) ctx.reporter.message(`${spec.name}: resumed after epoch ${saved.epoch}`);
    }
    if (group) {
      await checkSameRun(spec.name, rank, [spec.size, c.batchSize, c.epochs, saved.epoch]);
      await syncModel(spec.model);
    }
    epoch = saved.epoch;
    for (; epoch < c.epochs && !interrupted; epoch++) {
      spec.model.train();
      const epochRng = new Rng(derivedSeed(ctx.seed, spec.name, epoch));
      const batches = distributedEpochBatches(spec.size, c.batchSize, epochRng, rank, world, spec.order?.(epochRng));
      const sums = new Float64Array(1 + (spec.partNames?.length ?? 0));
      let seen = 0;
      const te = Date.now();
      // The next batch is cut and augmented on the JS thread while the current step runs on a worker thread.
      let dataMs = 0;
      const make = (k: number): Tensor[] => {
        const t = Date.now();
        const seed = world > 1 ? derivedSeed(ctx.seed, spec.name, epoch, k, rank) : derivedSeed(ctx.seed, spec.name, epoch, k);
        const b = spec.batch(batches[k] ?? [], new Rng(seed));
        dataMs += Date.now() - t;
        return b;
      };
      let next = batches.length > 0 ? make(0) : [];
      for (const [k, idx] of batches.entries()) {
        const g = epoch * perEpoch + k;
        optimizer.scaleLr(schedule(g));
        const inputs = next;
        const running = step.stepAsync(inputs);
        next = k + 1 < batches.length ? make(k + 1) : [];
        let r;
        try {
          r = await running;
        } finally {
          disposeAll(inputs);
        }
        r.outputs.forEach((t, i) => {
          if (i < sums.length) sums[i] = (sums[i] ?? 0) + t.item() * idx.length;
          t.dispose();
        });
        if (!Number.isFinite(r.loss)) {
          disposeAll(next);
          throw new ExpnetError('DIVERGED', `${spec.name}: the loss became ${r.loss} at epoch ${epoch + 1}, step ${k + 1}. Lower the learning rate; check the data (labels, images that decode to constant or broken pixels) and the weights the run started from (--resume checkpoints, init.faceNet / init.student files)`);
        }
        seen += idx.length;
        const secs = (Date.now() - te) / 1000;
        // Rank 0 reports its own running loss and the throughput of all ranks (each sees ~1/world of a batch).
        if (main) ctx.reporter.progress({
          stage: spec.name,
          epoch: epoch + 1,
          epochs: c.epochs,
          step: k + 1,
          steps: batches.length,
          loss: (sums[0] ?? 0) / seen,
          imagesPerSec: (seen * world) / Math.max(secs, 1e-9),
          etaSec: (secs / (k + 1)) * (batches.length - k - 1 + (c.epochs - epoch - 1) * batches.length),
        });
        if (ctx.deadline > 0) {
          const late = Date.now() > ctx.deadline ? 1 : 0;
          // The ranks stop together: one that left the loop alone would leave the others waiting in a collective.
          if ((group ? (await allReduceNumbers([late], 'max'))[0] : late) === 1) {
            interrupted = true;
            break;
          }
        }
      }
      disposeAll(next);
      if (interrupted) break; // the partial epoch is not saved: resuming repeats it exactly
      spec.model.eval();
      if (group) {
        const total = await allReduceNumbers([...sums, seen], 'sum');
        seen = total.pop() ?? seen;
        sums.set(total);
      }
      const scored = spec.validate && main ? spec.validate() : null;
      let score = typeof scored === 'number' || scored === null ? scored : scored.score;
      if (group && spec.validate) score = (await broadcastNumbers([score ?? Number.NaN], 0))[0] ?? null;
      if (!main) {
        if (score !== null && (saved.bestScore === null || score >= saved.bestScore)) [saved.bestScore, saved.bestEpoch] = [score, epoch + 1];
        saved.epoch = epoch + 1;
        continue;
      }
      const record: Record<string, unknown> = { stage: spec.name, epoch: epoch + 1, loss: (sums[0] ?? 0) / Math.max(seen, 1), lr: optimizer.getLr(), sec: (Date.now() - te) / 1000, dataSec: dataMs / 1000 };
      spec.partNames?.forEach((n, i) => (record[n] = (sums[i + 1] ?? 0) / Math.max(seen, 1)));
      if (score !== null) record['val'] = score;
      if (scored !== null && typeof scored !== 'number') record['valBySet'] = scored.detail;
      ctx.log(record);
      // Ties go to the later epoch: small validation sets saturate early, and later epochs have seen a lower LR.
      if (score !== null && (saved.bestScore === null || score >= saved.bestScore)) {
        saved.bestScore = score;
        saved.bestEpoch = epoch + 1;
        checkpointed(spec.name, epoch, saved.epoch, () => saveCheckpoint(best, { model: spec.model }));
      }
      const done = saved.epoch;
      saved.epoch = epoch + 1;
      checkpointed(spec.name, epoch, done, () => saveCheckpoint(ckpt, { model: spec.model, optimizer, extra: saved }));
    }
  } finally {
    step.dispose();
    optimizer.dispose();
    if (autocast) spec.model.toMemoryFormat('contiguous');
  }
  if (!interrupted && spec.validate && main && existsSync(best)) loadCheckpoint(best, { model: spec.model });
  if (group) await syncModel(spec.model);
  spec.model.eval();
  return { epochsRun: saved.epoch, bestScore: saved.bestScore, bestEpoch: saved.bestEpoch, interrupted, seconds: (Date.now() - t0) / 1000 };
}

/** Runs a checkpoint write; a failed one (disk full) says which epoch is lost and where --resume starts. */
function checkpointed(stage: string, epoch: number, saved: number, write: () => void): void {
  try {
    write();
  } catch (err) {
    if (!(err instanceof ExpnetError) || err.code !== 'WRITE_FAILED') throw err;
    throw new ExpnetError('WRITE_FAILED', `${stage}: epoch ${epoch + 1} could not be checkpointed: ${err.message}; --resume continues after epoch ${saved} of ${stage}`, { cause: err });
  }
}
