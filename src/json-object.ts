/**
 * The check every reader of client and upstream JSON makes first: a value is a JSON object (not
 * null, not an array), whose fields may then be read one by one.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `test` holds for some JSON object inside `value` (itself included): every object of its
 * arrays and fields is visited, depth first and without recursion, so a deeply nested body cannot
 * exhaust the stack; strings are never scanned. Stops at the first object `test` accepts.
 */
export function someJsonObject(value: unknown, test: (node: Record<string, unknown>) => boolean): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object' && item !== null) pending.push(item);
    } else if (isJsonObject(node)) {
      if (test(node)) return true;
      for (const item of Object.values(node)) if (typeof item === 'object' && item !== null) pending.push(item);
    }
  }
  return false;
}
