/**
 * An expression classifier as evaluation sees it: a label order, an input spec and batched probabilities.
 * Two back ends: an expnet .safetensors model on libtorch, or an ONNX model + card on ONNX Runtime (the
 * bundled default).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tensor } from '../engine/creation.js';
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import { ExpnetError } from '../errors.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL, resolveModelName, type BundledCard } from '../infer/modelBundle.js';
import { createSession } from '../infer/session.js';
import { loadExpNetModel, type ModelTraining } from '../nets/modelCard.js';

export interface ExpressionClassifier {
  name: string;
  /** Output index → label (from the model card). */
  labels: readonly string[];
  input: { size: number; channels: number };
  /** What the model trained on (its card's `training`), to tell held-out scores from scores on training images. */
  training?: ModelTraining;
  /** Probabilities for n images packed N×C×H×W in [0, 1]. */
  predict(x: Float32Array, n: number): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

function softmaxRows(logits: Float32Array, n: number, k: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => {
    const z = logits.subarray(i * k, (i + 1) * k);
    const m = z.reduce((a, b) => Math.max(a, b), -Infinity);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** An expnet model written by `expnet train` (weights + card in one .safetensors file), on libtorch. */
export function torchClassifier(path: string, batchSize = 256): ExpressionClassifier {
  const { model, card } = loadExpNetModel(path);
  const { size, channels } = card.input;
  const per = size * size * channels;
  return {
    name: card.name || basename(path),
    labels: card.labels,
    input: { size, channels },
    training: card.training,
    predict: (x, n) => {
      const out: Float32Array[] = [];
      noGrad(() => {
        for (let i = 0; i < n; i += batchSize) {
          const m = Math.min(batchSize, n - i);
          const p = tidy(() => model.forward(tensor(x.subarray(i * per, (i + m) * per), [m, channels, size, size])).softmax(1).floats());
          const k = card.labels.length;
          for (let j = 0; j < m; j++) out.push(p.slice(j * k, (j + 1) * k));
        }
      });
      return Promise.resolve(out);
    },
    dispose: () => {
      model.dispose();
      return Promise.resolve();
    },
  };
}

/** An ONNX expression model (input [N, C, size, size], output logits) with its card `<name>.json` beside it. */
export async function onnxClassifier(onnxPath: string, batchSize = 256): Promise<ExpressionClassifier> {
  const cardPath = onnxPath.replace(/\.onnx$/, '') + '.json';
  if (!existsSync(cardPath)) throw new ExpnetError('NOT_FOUND', `${onnxPath}: its model card ${cardPath} is missing (labels cannot be guessed)`);
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as BundledCard;
  if (!Array.isArray(card.labels) || !card.input?.size) throw new ExpnetError('BAD_MODEL', `${cardPath}: a model card needs labels and input.size`);
  const session = await createSession(onnxPath);
  const { size } = card.input;
  const channels = card.input.channels ?? 1;
  const per = size * size * channels;
  const k = card.labels.length;
  return {
    name: card.name || basename(onnxPath),
    labels: card.labels,
    input: { size, channels },
    ...(card.training ? { training: card.training } : {}),
    predict: async (x, n) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < n; i += batchSize) {
        const m = Math.min(batchSize, n - i);
        const r = await session.runFloat32({ data: x.slice(i * per, (i + m) * per), shape: [m, channels, size, size] });
        out.push(...softmaxRows(r.data as Float32Array, m, k));
      }
      return out;
    },
    dispose: () => session.dispose(),
  };
}

/** `.safetensors` → libtorch, `.onnx` → ONNX Runtime, nothing → the bundled default model. */
export async function openClassifier(spec?: string): Promise<ExpressionClassifier> {
  // A bare name (no folder, no extension) is a bundled model: `--model expnet-fer2013`.
  const bundled = spec !== undefined && /^[\w.-]+$/.test(spec) && !/\.(onnx|safetensors)$/.test(spec) ? join(bundledModelDir(), `${resolveModelName(spec)}.onnx`) : undefined;
  const path = bundled ?? spec ?? join(bundledModelDir(), `${DEFAULT_EXPRESSION_MODEL}.onnx`);
  if (!existsSync(path)) {
    const names = readdirSync(bundledModelDir()).filter((f) => f.endsWith('.json') && existsSync(join(bundledModelDir(), f.replace(/\.json$/, '.onnx')))).map((f) => f.replace(/\.json$/, ''));
    const hint = spec ? (bundled ? ` (bundled models: ${names.join(', ')})` : '') : ' (the bundled model is made by `expnet bundle`; or pass --model <model.safetensors>)';
    throw new ExpnetError('NOT_FOUND', `model ${bundled ? `'${spec}'` : path} not found${hint}`);
  }
  if (path.endsWith('.safetensors')) return torchClassifier(path);
  if (path.endsWith('.onnx')) return onnxClassifier(path);
  throw new ExpnetError('BAD_INPUT', `${path}: expected a .safetensors (expnet train) or .onnx (expnet export) model`);
}
