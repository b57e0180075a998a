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

export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown, root: 'body' | 'query' = 'body'): z.infer<T> {
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
