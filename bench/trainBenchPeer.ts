/** The PyTorch peer of bench/train-throughput.ts (train_throughput_peer.py) as a child process: JSON lines over stdio. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Reply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export class Peer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  constructor(python: string, script: string) {
    this.#child = spawn(python, [script], { env: { ...process.env, OMP_WAIT_POLICY: process.env['OMP_WAIT_POLICY'] ?? 'PASSIVE' } });
    this.#child.stderr.pipe(process.stderr);
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const w = this.#waiting.shift();
      try {
        w?.resolve(JSON.parse(line) as Reply);
      } catch {
        w?.reject(new Error(`peer printed a line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (why: string): void => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`PyTorch peer (${python} ${script}) ${why}`));
    };
    this.#child.on('error', (err) => fail(`could not start: ${err.message}`));
    this.#child.stdin.on('error', (err) => fail(`stopped reading its input: ${err.message}`));
    this.#child.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
  }
  async request(msg: Record<string, unknown>): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#child.stdin.write(JSON.stringify(msg) + '\n');
    const r = await reply;
    if (!r.ok) throw new Error(`PyTorch peer failed on ${String(msg['cmd'])}: ${r.error ?? 'unknown error'}`);
    return r;
  }
  close(): void {
    this.#child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
  }
}

export const num = (r: Reply, key: string): number => {
  const v = r[key];
  if (typeof v !== 'number') throw new Error(`PyTorch peer reply lacks a numeric '${key}': ${JSON.stringify(r)}`);
  return v;
};
