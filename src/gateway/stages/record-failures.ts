/**
 * Records the usage row of a call that failed: refused while resolving or admitting (the model
 * name as far as it was resolved), or after routing ran out of attempts and fallbacks (the last
 * group and deployment). The call the failing stage saw travels with the error (call.ts failedWith).
 * A call that reached an attempt's settlement was recorded there; the context's flag keeps it to one row.
 */
import { toGatewayError } from '../../errors.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import { failureOf, type Stage } from '../call.js';
import type { UsageRecorder } from '../record.js';
import { modelNameForRecord } from '../request-bounds.js';

export function recordFailuresStage(catalog: ModelCatalog, recorder: UsageRecorder): Stage {
  return async (call, next) => {
    try {
      return await next(call);
    } catch (caught) {
      const error = toGatewayError(caught);
      const failure = failureOf(error);
      const failed = failure?.call ?? call;
      recorder.recordFailure(failed, error, failure?.route, storedModelName(catalog, failed.modelName ?? call.operation.request.model));
      throw error;
    }
  };
}

/** The model name a usage row keeps: a configured one in full, anything else cut short. */
export function storedModelName(catalog: ModelCatalog, name: string | null): string | null {
  return modelNameForRecord(name, (candidate) => catalog.resolve(candidate) !== undefined || catalog.disabledGroup(candidate) !== undefined);
}
