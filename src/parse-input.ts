/**
 * Parses a request body or query string with a zod schema; the first problem becomes a 400
 * `invalid_request` naming the field (`path: message`), the way every management route answers.
 */
import type { z } from 'zod';
import { GatewayError } from './errors.js';

/**
 * For a value that matched no alternative of a union, the problem of the alternative its type
 * matched (a member object with an unknown field, rather than "Invalid input"), when there is one.
 */
function telling(issue: z.ZodIssue): z.ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  for (const failed of issue.unionErrors) {
    const first = failed.issues[0];
    if (first && !(first.code === 'invalid_type' && first.path.length === issue.path.length)) return telling(first);
  }
  return issue;
}

/** Per query string parsed (request.query), the parameters some schema of its route read. */
const readQueryParameters = new WeakMap<object, Set<string>>();

/** Notes the parameters a schema reads of a query string; the others are reported by ignoredQueryParameters. */
function noteQueryRead(schema: z.ZodTypeAny, query: unknown): void {
  if (typeof query !== 'object' || query === null) return;
  const shape = (schema as { shape?: unknown }).shape;
  if (typeof shape !== 'object' || shape === null) return;
  let read = readQueryParameters.get(query);
  if (!read) readQueryParameters.set(query, (read = new Set()));
  for (const name of Object.keys(shape)) read.add(name);
}

/**
 * The parameters of a query string that no schema of its route read (parseInput(…, 'query')):
 * accepted without effect, so the answer says so (x-switchboard-warnings). Empty when the route
 * parsed no query string.
 */
export function ignoredQueryParameters(query: unknown): string[] {
  if (typeof query !== 'object' || query === null) return [];
  const read = readQueryParameters.get(query);
  return read ? Object.keys(query).filter((name) => !read.has(name)) : [];
}

export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown, root: 'body' | 'query' = 'body'): z.infer<T> {
  if (root === 'query') noteQueryRead(schema, input);
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const issue = telling(result.error.issues[0]);
    if (issue.code === 'unrecognized_keys') {
      // A field the schema does not read is named as the field, not as its object.
      const field = [...issue.path, issue.keys[0]].join('.');
      throw new GatewayError('invalid_request', `${field}: not a field here; it is refused rather than ignored, so that no setting is dropped in silence`, { param: field });
    }
    const path = issue.path.join('.') || root;
    throw new GatewayError('invalid_request', `${path}: ${issue.message}`, { param: path });
  }
  return result.data;
}
