/**
 * zod fields for query strings, parsed with parseInput(schema, request.query, 'query'). A query
 * value is a string, or an array when the parameter is repeated (`?user_id=a&user_id=b`): a field
 * that takes one value answers 400 for the array instead of passing it on as if it were a string.
 */
import { z } from 'zod';

/** A parameter that takes one value. */
export const oneValue = () => z.string({ invalid_type_error: 'expected one value (the parameter was given more than once)' });

/** A whole number from `min` to `max` (paging: page, size, limit, offset). */
export const wholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ invalid_type_error: 'expected a whole number' })
    .int('expected a whole number')
    .min(min, `must be ${min} or more`)
    .max(max, `must be at most ${max}`);

/** A whole number from 1 to `max`. */
export const positiveInteger = (max: number) => wholeNumber(1, max);
