/** Ownership scopes: tensors created inside `tidy` are disposed at its end unless returned or kept. */

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Called by every tensor constructor: the innermost open scope owns the new tensor. */
export function track<T extends Disposable>(t: T): T {
  stack[stack.length - 1]?.add(t);
  return t;
}

/** Removes a tensor from every open scope, so it outlives them; its owner must dispose it later. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'isDisposed' in value) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

/**
 * Runs `fn` in a scope: every tensor created inside is disposed at the end, except those in the result
 * (a tensor, or arrays / plain objects / Maps of them), which move to the enclosing scope.
 * Synchronous only: an async function would let other work's tensors land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) throw new TypeError('tidy: the function must be synchronous (use explicit dispose() for async work)');
  const kept = new Set<Disposable>();
  collect(result, kept);
  for (const t of scope) {
    if (!kept.has(t)) t.dispose();
    else stack[stack.length - 1]?.add(t);
  }
  return result;
}

/** Disposes every tensor found in a value (a tensor, or arrays / plain objects / Maps of them). */
export function disposeAll(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}
