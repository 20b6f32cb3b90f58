/**
 * Preloaded (`node --import`) into a CLI run by the tests: writes fail with ENOSPC, as on a full disk, without
 * filling one. EXPNET_TEST_FAIL_WRITE=<part>@<n>: the writes into the n-th file opened whose path holds <part>
 * (atomic writes open `<file>.tmp-…`); EXPNET_TEST_FAIL_APPEND=<part>: appends to a path holding <part>.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [part = '', at = '1'] = (process.env['EXPNET_TEST_FAIL_WRITE'] ?? '').split('@');
const appendPart = process.env['EXPNET_TEST_FAIL_APPEND'] ?? '';
const open = fs.openSync;
const write = fs.writeSync;
const append = fs.appendFileSync;
const doomed = new Set<number>();
let opened = 0;

const enospc = (syscall: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });

fs.openSync = ((...args: Parameters<typeof open>): number => {
  const fd = open(...args);
  if (part !== '' && String(args[0]).includes(part) && ++opened === Number(at)) doomed.add(fd);
  return fd;
}) as typeof fs.openSync;

fs.writeSync = ((...args: Parameters<typeof write>): number => {
  if (doomed.has(args[0])) throw enospc('write');
  return write(...args);
}) as typeof fs.writeSync;

fs.appendFileSync = ((...args: Parameters<typeof append>): void => {
  if (appendPart !== '' && String(args[0]).includes(appendPart)) throw enospc('write');
  append(...args);
}) as typeof fs.appendFileSync;

syncBuiltinESMExports();
