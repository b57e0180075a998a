import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../auth/admission.js';
import type { UsageLogWriter } from '../../observability/usage-log-writer.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { chatCall, fakeCatalog, fakeContext, fakeDeployment, OK_RESULT, recordingNext } from '../../../test/support/stage-fakes.js';
import { UsageRecorder } from '../record.js';
import { mockStage } from './mock.js';

const deployment = fakeDeployment('dep-a', 'model-a');
const group = fakeCatalog([deployment]).resolve('model-a')!;

function recorder() {
  const rows: UsageLogRow[] = [];
  return { rows, recorder: new UsageRecorder({ usageWriter: { enqueue: (row: UsageLogRow) => rows.push(row) } as unknown as UsageLogWriter }) };
}

const resolution = { group, reachable: undefined as never };

describe('mock stage', () => {
  it('hands a call without mock_response to next', async () => {
    const { rows, recorder: usage } = recorder();
    const next = recordingNext();
    expect(await mockStage(usage)(chatCall({ model: 'model-a', messages: [{ role: 'user', content: 'hi' }] }), next)).toBe(OK_RESULT);
    expect(next.calls).toHaveLength(1);
    expect(rows).toHaveLength(0);
  });

  it('answers a mock without next, records it at cost 0 and releases the reservation with no tokens counted', async () => {
    const { rows, recorder: usage } = recorder();
    const settled: Array<[number | undefined, number]> = [];
    const ticket: Ticket = { headers: { 'x-ratelimit-remaining-requests': '9' }, settle: (micros, tokens) => (settled.push([micros, tokens]), []), extend: async () => true };
    const call = chatCall({ model: 'model-a', messages: [{ role: 'user', content: 'hi' }] }, { context: fakeContext({ requestOptions: { mockResponse: 'mocked!' } }), resolution, admission: { ticket } });
    const next = recordingNext();
    const result = await mockStage(usage)(call, next);
    expect(next.calls).toHaveLength(0);
    expect(result.kind).toBe('json');
    const body = JSON.parse((result as { body: string }).body);
    expect(body.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'mocked!' }, finish_reason: 'stop' });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(result.headers).toMatchObject({ 'x-switchboard-mock-response': 'true', 'x-switchboard-response-cost': '0', 'x-ratelimit-remaining-requests': '9' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ cost_micros: 0, status: 'success', model_group: 'model-a', deployment_id: null, tokens_estimated: 1 });
    expect(JSON.parse(rows[0].metadata!)).toEqual({ mock_response: true });
    expect(settled).toEqual([[0, 0]]);
  });

  it('refuses a mock for embeddings', async () => {
    const { recorder: usage } = recorder();
    const call = { ...chatCall({ model: 'model-a' }, { context: fakeContext({ requestOptions: { mockResponse: 'x' } }), resolution }), operation: { kind: 'embeddings' as const, request: { model: 'model-a', input: 'x' } } };
    await expect(mockStage(usage)(call, recordingNext())).rejects.toThrow('"mock_response" answers chat and completion calls');
  });
});
