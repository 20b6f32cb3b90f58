/**
 * Preloaded (`node --import`) into a CLI run by the tests: the Nth write of a stage checkpoint
 * (EXPNET_TEST_FAIL_CKPT=N) fails with ENOSPC, as on a full disk, without filling one.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const failAt = Number(process.env['EXPNET_TEST_FAIL_CKPT'] ?? 0);
const open = fs.openSync;
const write = fs.writeSync;
const doomed = new Set<number>();
let opened = 0;

fs.openSync = ((...args: Parameters<typeof open>): number => {
  const fd = open(...args);
  if (String(args[0]).includes('.ckpt.safetensors.tmp-') && ++opened === failAt) doomed.add(fd);
  return fd;
}) as typeof fs.openSync;

fs.writeSync = ((...args: Parameters<typeof write>): number => {
  if (doomed.has(args[0])) {
    const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, write');
    Object.assign(err, { code: 'ENOSPC', errno: -28, syscall: 'write' });
    throw err;
  }
  return write(...args);
}) as typeof fs.writeSync;

syncBuiltinESMExports();
