/** A missing image file is NOT_FOUND saying "not found: <path>" (and where a relative path was looked for), never sharp's "Input file is missing". */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ExpnetError } from '../src/errors.js';
import { readRgb } from '../src/infer/readImage.js';

test('a missing image file: NOT_FOUND, "not found: <path>", the folder a relative path was resolved from', async () => {
  for (const path of ['examples/no-such-photo.png', resolve('no-such-photo.png')]) {
    await assert.rejects(readRgb(path), (err: unknown) => {
      assert.ok(err instanceof ExpnetError);
      assert.equal(err.code, 'NOT_FOUND');
      assert.ok(err.message.startsWith(`not found: ${path}`), err.message);
      assert.equal(err.message.includes(resolve(path)), true, err.message);
      assert.doesNotMatch(err.message, /Input file is missing/);
      return true;
    });
  }
});
