import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../auth/admission.js';
import { GatewayError } from '../../errors.js';
import type { UsageLogWriter } from '../../observability/usage-log-writer.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { chatCall, fakeCatalog, fakeDeployment, OK_RESULT, recordingNext } from '../../../test/support/stage-fakes.js';
import { failedWith } from '../call.js';
import { UsageRecorder } from '../record.js';
import { recordFailuresStage } from './record-failures.js';

const deployment = fakeDeployment('dep-a', 'model-a');
const catalog = fakeCatalog([deployment]);

function recorder() {
  const rows: UsageLogRow[] = [];
  return { rows, recorder: new UsageRecorder({ usageWriter: { enqueue: (row: UsageLogRow) => rows.push(row) } as unknown as UsageLogWriter }) };
}

describe('record-failures stage', () => {
  it('records nothing when the call succeeds', async () => {
    const { rows, recorder: usage } = recorder();
    expect(await recordFailuresStage(catalog, usage)(chatCall({ model: 'model-a' }), recordingNext())).toBe(OK_RESULT);
    expect(rows).toHaveLength(0);
  });

  it('records a refused call once, with the model name as far as it was resolved, and releases its reservation', async () => {
    const { rows, recorder: usage } = recorder();
    let released = false;
    const ticket: Ticket = { headers: {}, settle: (micros) => ((released = micros === undefined), []), extend: async () => true };
    const call = chatCall({ model: 'alias' });
    const next = recordingNext(async () => {
      throw failedWith(new GatewayError('budget_exceeded', 'over budget'), { ...call, modelName: 'model-a', admission: { ticket } });
    });
    await expect(recordFailuresStage(catalog, usage)(call, next)).rejects.toThrow('over budget');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model_group: 'model-a', status: 'failure', error_code: 'budget_exceeded', stream: 0, deployment_id: null });
    expect(released).toBe(true);
    expect(call.context.recorded).toBe(true);
  });

  it('records where routing stopped after the attempts failed', async () => {
    const { rows, recorder: usage } = recorder();
    const call = chatCall({ model: 'model-a', stream: true });
    const group = { name: 'model-a', deployments: [deployment], available: [deployment] };
    const next = recordingNext(async () => {
      throw failedWith(new GatewayError('upstream_error', 'openai returned 500', { upstreamStatus: 500 }), call, { group, deployment, retries: 2, fallbacks: 1, requested: 'model-x', lastAttempt: undefined });
    });
    await expect(recordFailuresStage(catalog, usage)(call, next)).rejects.toThrow();
    expect(rows[0]).toMatchObject({ model_group: 'model-a', deployment_id: 'dep-a', retries: 2, fallbacks: 1, stream: 1, metadata: JSON.stringify({ requested_model: 'model-x' }) });
  });

  it('does not record a second row for a call already recorded', async () => {
    const { rows, recorder: usage } = recorder();
    const call = chatCall({ model: 'model-a' });
    call.context.recorded = true;
    const next = recordingNext(async () => {
      throw new GatewayError('upstream_error', 'x');
    });
    await expect(recordFailuresStage(catalog, usage)(call, next)).rejects.toThrow();
    expect(rows).toHaveLength(0);
  });
});
