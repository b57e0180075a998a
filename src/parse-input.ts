/**
 * Parses a request body or query string with a zod schema; the first problem becomes a 400
 * `invalid_request` naming the field (`path: message`), the way every management route answers.
 */
import type { z } from 'zod';
import { GatewayError } from './errors.js';

export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown, root: 'body' | 'query' = 'body'): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.join('.') || root;
    throw new GatewayError('invalid_request', `${path}: ${issue.message}`, { param: path });
  }
  return result.data;
}
