/**
 * The request as the cost and usage bounds read it (billing/max-cost.ts): a native call counts as
 * the canonical kind it resembles (a generation, or embeddings that produce no output).
 */
import type { CostInput } from '../billing/max-cost.js';
import type { Operation } from './call-context.js';

export function costKindOf(operation: Operation): CostInput['kind'] {
  return operation.kind === 'native' ? operation.costKind : operation.kind;
}

export function costInputOf(operation: Operation): CostInput {
  return { kind: costKindOf(operation), body: operation.request as unknown as Record<string, unknown> };
}
