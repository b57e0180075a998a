/**
 * An agent's output_schema: a JSON Schema compiled with ajv (refused with a 400 naming the field
 * when ajv cannot compile it), and the validation of a run's output against it.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { GatewayError } from '../errors.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

export function compileOutputSchema(schema: Record<string, unknown>): ValidateFunction {
  const cached = compiled.get(schema);
  if (cached) return cached;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new GatewayError('invalid_request', `output_schema: not a valid JSON Schema: ${(error as Error).message}`, { param: 'output_schema' });
  }
  compiled.set(schema, validate);
  return validate;
}

/** undefined when `output` validates, else what is wrong, in words the model can act on. */
export function validationError(schema: Record<string, unknown>, output: unknown): string | undefined {
  const validate = compileOutputSchema(schema);
  if (validate(output)) return undefined;
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}`).join('; ');
}

/** True when the schema declares a top-level numeric `confidence` property. */
export function schemaHasConfidence(schema: Record<string, unknown> | null): boolean {
  const properties = schema?.properties;
  return typeof properties === 'object' && properties !== null && 'confidence' in properties;
}
