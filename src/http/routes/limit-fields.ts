/**
 * The zod fields keys, users and teams share (LiteLLM's budget and limit fields), read the way
 * LiteLLM reads them: `max_budget: ""` / `soft_budget: ""` and `models: null` mean "not given".
 */
import { z } from 'zod';
import { storedDuration, storedLimit, storedMetadata, storedNameList } from './stored-field-bounds.js';

/** LiteLLM's clients send "" and null for fields they leave unset. */
const unsetWhen = <T extends z.ZodTypeAny>(values: unknown[], schema: T) => z.preprocess((value) => (values.includes(value) ? undefined : value), schema);

const usd = () => unsetWhen([''], z.number({ invalid_type_error: 'expected a number (USD)' }).nonnegative().nullable().optional());
const nullableInteger = storedLimit();

export const limitFields = {
  models: unsetWhen([null], storedNameList().optional()),
  max_budget: usd(),
  soft_budget: usd(),
  budget_duration: storedDuration().nullable().optional(),
  rpm_limit: nullableInteger,
  tpm_limit: nullableInteger,
  max_parallel_requests: nullableInteger,
  metadata: storedMetadata().optional(),
  blocked: z.boolean().optional(),
};
