#!/usr/bin/env node
/** The expnet command line: one file per command; this one dispatches and maps errors to exit codes. */
import { ExpnetError, fsReason, type ExpnetErrorCode } from '../errors.js';
import { CV_HELP, cvCommand } from './cv.js';
import { TRAIN_HELP, trainCommand } from './train.js';
import { BUNDLE_HELP, bundleCommand, EXPORT_HELP, exportCommand } from './export.js';
import { PREDICT_HELP, predictCommand } from './predict.js';
import { EVAL_HELP, evalCommand } from './eval.js';
import { EXPLAIN_HELP, explainCommand } from './explain.js';
import { NEURONS_HELP, neuronsCommand } from './neurons.js';
import { SERVE_HELP, serveCommand } from './serve.js';
import { BUILD_NATIVE_HELP, buildNativeCommand } from './buildNative.js';
import { expnetVersion } from '../version.js';
import { unknownCommand, unknownOption } from './options.js';

type Command = (argv: string[]) => Promise<number>;
const COMMANDS: Record<string, { run: Command; help: string }> = {
  predict: { run: predictCommand, help: PREDICT_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
  bundle: { run: bundleCommand, help: BUNDLE_HELP },
  train: { run: trainCommand, help: TRAIN_HELP },
  cv: { run: cvCommand, help: CV_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  explain: { run: explainCommand, help: EXPLAIN_HELP },
  neurons: { run: neuronsCommand, help: NEURONS_HELP },
  serve: { run: serveCommand, help: SERVE_HELP },
  'build-native': { run: buildNativeCommand, help: BUILD_NATIVE_HELP },
};

/** Exit codes: 0 ok, 1 failure, 2 bad usage/config, 3 bad input data (images, labels, models), 4 some inputs failed. */
const EXIT: Record<ExpnetErrorCode, number> = {
  BAD_CONFIG: 2,
  BAD_INPUT: 3,
  BAD_IMAGE: 3,
  BAD_VIDEO: 3,
  MISSING_TOOL: 1,
  BAD_LABEL_FILE: 3,
  BAD_WEIGHTS: 3,
  BAD_MODEL: 3,
  NOT_FOUND: 3,
  NATIVE: 1,
  DIVERGED: 1,
  WRITE_FAILED: 1,
};

function usage(): string {
  return `expnet <command> [options]   (expnet --version: the version)\n\ncommands:\n${Object.values(COMMANDS).map((c) => c.help.replace(/^/gm, '  ')).join('\n\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${expnetVersion()}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`expnet: ${unknownCommand(name, Object.keys(COMMANDS)).message}\n  (expnet --help lists the commands)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof ExpnetError) {
      const hint = err.code === 'BAD_CONFIG' && err.message.startsWith('unknown option') ? `\n  (expnet ${name} --help lists the options)` : '';
      process.stderr.write(`expnet ${name}: ${err.message}${hint}\n`);
      return EXIT[err.code] ?? 1;
    }
    if (err instanceof TypeError && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      // commands still on node's parseArgs: the same "did you mean" from the flags their help lists
      const flag = /Unknown option '(-[^']+)'/.exec(err.message)?.[1];
      const known = [...new Set([...cmd.help.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? ''))];
      const text = flag !== undefined ? unknownOption(flag, known).message : err.message;
      process.stderr.write(`expnet ${name}: ${text}\n  (expnet ${name} --help lists the options)\n`);
      return 2;
    }
    const sys = err as { code?: unknown; syscall?: unknown; path?: unknown };
    if (typeof sys.code === 'string' && typeof sys.syscall === 'string') {
      // a file operation nothing above expected to fail (e.g. a full disk): one line, no stack trace
      process.stderr.write(`expnet ${name}: ${sys.syscall}${typeof sys.path === 'string' ? ` ${sys.path}` : ''}: ${fsReason(err)}\n`);
      return 1;
    }
    process.stderr.write(`expnet ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`expnet: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
