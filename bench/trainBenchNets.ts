/**
 * The nets of bench/train-throughput.ts, built from one set of seeded initial weights that the PyTorch peer
 * (train_throughput_peer.py) loads too:
 *   reference: input 1×64×64; conv3×3 32-64-128-256, each + ReLU + maxpool 2; FC 256 + ReLU; FC 7 (batch 32);
 *   student:   the bundled model's ExpNet (models/expnet-fer2013.json: 1×48×48, conv 32-64-128-256-256 + BN,
 *              FC 256; batch 64), dropout 0 so that both implementations compute the same losses.
 */
import { ExpNet, type ExpNetConfig } from '../src/nets/expNet.js';
import { F, manualSeed, randint, randn, setData, tensor, tidy, uniformInit, type RawTensor, type Tensor } from '../src/engine/index.js';

export type BenchNet = 'reference' | 'student';
export const BENCH_NETS: readonly BenchNet[] = ['reference', 'student'];
export const CLASSES = 7;

/** The student as bundled (widths, BN, FC) with dropout off. */
export const STUDENT_CONFIG: ExpNetConfig = { inputSize: 48, inChannels: 1, widths: [32, 64, 128, 256, 256], batchNorm: true, fcHidden: 256, dropout: 0, numClasses: CLASSES };

const REF_CHANNELS = [1, 32, 64, 128, 256] as const;
const REF_SIDE = 64;

export const DEFAULT_BATCH: Record<BenchNet, number> = { reference: 32, student: 64 };

/** [channels, side] of the net's input. */
export function inputShape(net: BenchNet): [number, number] {
  return net === 'reference' ? [1, REF_SIDE] : [STUDENT_CONFIG.inChannels, STUDENT_CONFIG.inputSize];
}

/** Forward FLOPs of the net's convolutions for one image (2 per multiply-add); training ≈ 3×. */
export function convForwardFlops(net: BenchNet): number {
  const chans = net === 'reference' ? [...REF_CHANNELS] : [STUDENT_CONFIG.inChannels, ...STUDENT_CONFIG.widths];
  let side = inputShape(net)[1];
  let flops = 0;
  for (let i = 0; i + 1 < chans.length; i++) {
    flops += 2 * (chans[i] as number) * 9 * (chans[i + 1] as number) * side * side;
    if (i < 4) side /= 2;
  }
  return flops;
}

/** A model the benchmark trains: its parameters, forward, and a reset to the initial weights. */
export interface BenchModel {
  parameters(): Tensor[];
  forward(x: Tensor): Tensor;
  /** Copies the initial weights (and BatchNorm statistics) back in place. */
  reset(): void;
  /** Lays the 4-D weights out channels-last (in place). */
  channelsLast(): void;
  dispose(): void;
}

function referenceSpecs(): [name: string, shape: number[], fanIn: number][] {
  const specs: [string, number[], number][] = [];
  for (let i = 0; i < 4; i++) {
    const [cin, cout] = [REF_CHANNELS[i] as number, REF_CHANNELS[i + 1] as number];
    specs.push([`conv${i + 1}.weight`, [cout, cin, 3, 3], cin * 9], [`conv${i + 1}.bias`, [cout], cin * 9]);
  }
  const flat = 256 * (REF_SIDE / 16) ** 2;
  specs.push(['fc1.weight', [256, flat], flat], ['fc1.bias', [256], flat], ['fc2.weight', [CLASSES, 256], 256], ['fc2.bias', [CLASSES], 256]);
  return specs;
}

/** Seeded initial weights of `net` plus a fixed synthetic batch ('x', 'y'), as raw tensors. */
export function initialState(net: BenchNet, seed: number, batch: number): Map<string, RawTensor> {
  manualSeed(seed);
  const init = new Map<string, RawTensor>();
  tidy(() => {
    if (net === 'reference') {
      for (const [name, shape, fanIn] of referenceSpecs()) init.set(name, { dtype: 'float32', shape, data: uniformInit(shape, fanIn).data() });
    } else {
      const s = new ExpNet(STUDENT_CONFIG);
      for (const [name, t] of s.stateDict()) init.set(name, { dtype: 'float32', shape: t.shape, data: t.data() });
      s.dispose();
    }
    const [c, side] = inputShape(net);
    init.set('x', { dtype: 'float32', shape: [batch, c, side, side], data: randn([batch, c, side, side]).data() });
    init.set('y', { dtype: 'int64', shape: [batch], data: randint(0, CLASSES, [batch], { dtype: 'int64' }).data() });
  });
  return init;
}

function referenceModel(init: ReadonlyMap<string, RawTensor>): BenchModel {
  const names = referenceSpecs().map(([n]) => n);
  const raw = (name: string): RawTensor => {
    const r = init.get(name);
    if (!r) throw new Error(`initial weights lack '${name}'`);
    return r;
  };
  const params = new Map(names.map((n) => [n, tensor(raw(n).data, raw(n).shape, { requiresGrad: true })] as const));
  const p = (n: string): Tensor => params.get(n) as Tensor;
  return {
    parameters: () => [...params.values()],
    forward: (x) => {
      let h = x;
      for (let i = 1; i <= 4; i++) h = F.maxPool2d(F.relu(F.conv2d(h, p(`conv${i}.weight`), p(`conv${i}.bias`), { padding: 1 })), 2);
      return F.linear(F.relu(F.linear(h.flatten(1), p('fc1.weight'), p('fc1.bias'))), p('fc2.weight'), p('fc2.bias'));
    },
    reset: () => {
      for (const [n, t] of params) t.assign(raw(n).data);
    },
    channelsLast: () => {
      for (const t of params.values()) {
        if (t.shape.length !== 4) continue;
        const cl = t.contiguous('channelsLast');
        setData(t, cl);
        cl.dispose();
      }
    },
    dispose: () => {
      for (const t of params.values()) t.dispose();
    },
  };
}

function studentModel(init: ReadonlyMap<string, RawTensor>): BenchModel {
  const s = new ExpNet(STUDENT_CONFIG);
  const state = new Map([...s.stateDict().keys()].map((k) => [k, init.get(k) as RawTensor] as const));
  const reset = (): void => s.loadStateDict(state);
  reset();
  s.train();
  return { parameters: () => s.parameters(), forward: (x) => s.forward(x), reset, channelsLast: () => void s.toMemoryFormat('channelsLast'), dispose: () => s.dispose() };
}

export function buildModel(net: BenchNet, init: ReadonlyMap<string, RawTensor>): BenchModel {
  return net === 'reference' ? referenceModel(init) : studentModel(init);
}
