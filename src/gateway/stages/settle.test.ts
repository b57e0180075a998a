import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../auth/admission.js';
import { GatewayError } from '../../errors.js';
import type { UsageLogWriter } from '../../observability/usage-log-writer.js';
import type { CreditTicket } from '../../platform/credit-gate.js';
import type { PlatformLayer, PlatformOutcome } from '../../platform/layer.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { chatCall, fakeDeployment, recordingRouter, silentLogger } from '../../../test/support/stage-fakes.js';
import type { Call } from '../call.js';
import { StreamedAnswer } from '../streamed-answer.js';
import { UsageRecorder } from '../record.js';
import type { Attempted } from './attempted.js';
import { settleStage } from './settle.js';

const deployment = fakeDeployment('dep-a', 'model-a', { prices: { inputPerToken: 1_000_000, outputPerToken: 2_000_000 } });
const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15 };

function attemptedCall(extra: Partial<Call> = {}, stream = false): Call {
  const call = chatCall({ model: 'model-a', stream });
  return { ...call, attempt: { deployment, group: { name: 'model-a', deployments: [deployment], available: [deployment] }, retries: 1, fallbacks: 0, requested: 'model-a', target: { deployment, byok: false, chargedLevel: undefined } }, ...extra };
}

/** What happened, in order: router events, records, the platform's finish. */
function harness() {
  const events: string[] = [];
  const rows: UsageLogRow[] = [];
  const router = recordingRouter();
  const writer = {
    enqueue: (row: UsageLogRow) => {
      rows.push(row);
      events.push(...router.events.splice(0), 'record');
    },
  } as unknown as UsageLogWriter;
  const platform = {
    finish: async (outcome: PlatformOutcome, headers: Record<string, string>, body: string) => {
      events.push(...router.events.splice(0), `finish sees ${outcome.credits?.outcome?.charged}`);
      headers['x-finished'] = 'yes';
      return body;
    },
    streamHeaders: () => undefined,
  } as unknown as PlatformLayer;
  const deps = { router, logger: silentLogger, platform, settings: { dropParams: false } };
  return { events, rows, router, deps, recorder: new UsageRecorder({ usageWriter: writer, platform }) };
}

describe('settle stage', () => {
  it('JSON: tells the router, records (settling the reservations), then lets the platform finish with the settled credits', async () => {
    const { events, rows, deps, recorder } = harness();
    let settledWith: number | undefined;
    const ticket: Ticket = { headers: { 'x-ratelimit-remaining-requests': '4' }, settle: (micros) => ((settledWith = micros), []), extend: async () => true };
    const held: { level: undefined; outcome: { charged: number } | undefined; settle(micros: number | undefined): { charged: number } } = {
      level: undefined,
      outcome: undefined,
      settle(micros) {
        held.outcome = { charged: micros ?? 0 };
        return held.outcome;
      },
    };
    const credits = held as unknown as CreditTicket;
    const attempted: Attempted = { kind: 'json', body: '{"choices":[]}', parsed: { choices: [] }, usage, upstreamLatencyMs: 5, warnings: [] };
    const result = await settleStage(deps, recorder, async () => attempted)(attemptedCall({ admission: { ticket, credits } }));
    expect(events).toEqual(['success dep-a', 'record', 'finish sees 20']);
    expect(settledWith).toBe(20);
    expect(rows[0]).toMatchObject({ model_group: 'model-a', deployment_id: 'dep-a', cost_micros: 20, total_tokens: 15, retries: 1, status: 'success' });
    expect(result).toMatchObject({ kind: 'json', status: 200, headers: { 'x-switchboard-model-id': 'dep-a', 'x-switchboard-response-cost': '0.00002', 'x-ratelimit-remaining-requests': '4', 'x-finished': 'yes' } });
  });

  it('stream: answers with headers at once and records only when the pump ends', async () => {
    const { events, rows, deps, recorder } = harness();
    const attempted: Attempted = {
      kind: 'stream',
      sentAt: 0,
      warnings: [],
      encoder: { contentType: 'text/event-stream; charset=utf-8' } as never,
      relay: async () => ({ usage, error: undefined, cut: false, aborted: false, upstreamLatencyMs: 7, firstChunkAt: 3, text: () => 'hello', finishReasons: () => ['stop'], answer: () => new StreamedAnswer([]) }),
    };
    const result = await settleStage(deps, recorder, async () => attempted)(attemptedCall({}, true));
    expect(result.kind).toBe('stream');
    expect(result.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(rows).toHaveLength(0);
    if (result.kind === 'stream') await result.pump({} as ServerResponse);
    expect(events).toEqual(['success dep-a', 'record']);
    expect(rows[0]).toMatchObject({ stream: 1, total_tokens: 15, aborted: 0, status: 'success' });
  });

  it('stream cut by the gateway: recorded as aborted with its error, not counted against the deployment', async () => {
    const { events, rows, deps, recorder } = harness();
    const cut = new GatewayError('key_revoked', 'cut');
    const attempted: Attempted = {
      kind: 'stream',
      sentAt: 0,
      warnings: [],
      encoder: { contentType: 'text/event-stream' } as never,
      relay: async () => ({ usage, error: cut, cut: true, aborted: true, upstreamLatencyMs: 7, firstChunkAt: 3, text: () => 'hello', finishReasons: () => ['stop'], answer: () => new StreamedAnswer([]) }),
    };
    const result = await settleStage(deps, recorder, async () => attempted)(attemptedCall({}, true));
    if (result.kind === 'stream') await result.pump({} as ServerResponse);
    expect(events).toEqual(['record']);
    expect(rows[0]).toMatchObject({ aborted: 1, status: 'failure' });
  });

  it('a stream whose ending throws (a bug) is recorded at the most the call could cost, its response closed, never left unrecorded', async () => {
    const { rows, deps, recorder } = harness();
    let settledWith: number | undefined;
    const ticket: Ticket = { headers: {}, settle: (micros) => ((settledWith = micros), []), extend: async () => true };
    const attempted: Attempted = {
      kind: 'stream',
      sentAt: 0,
      warnings: [],
      encoder: { contentType: 'text/event-stream; charset=utf-8' } as never,
      relay: async () => {
        throw new Error('a bug in the relay');
      },
    };
    const result = await settleStage(deps, recorder, async () => attempted)(attemptedCall({ admission: { ticket } }, true));
    let destroyed = false;
    if (result.kind === 'stream') await result.pump({ writableEnded: false, destroy: () => (destroyed = true) } as unknown as ServerResponse);
    expect(destroyed).toBe(true);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failure', error_code: 'internal', usage_adjusted: 1 });
    // The most the call could cost: its prompt bound and its output limit at the deployment's prices.
    expect(rows[0].cost_micros).toBeGreaterThan(0);
    expect(settledWith).toBe(rows[0].cost_micros);
  });

  it('a JSON answer whose settlement throws (a bug) is recorded at the most the call could cost, and the call fails', async () => {
    const { rows, deps, recorder } = harness();
    const lying = {
      get promptTokens(): number {
        throw new Error('a bug in the settlement');
      },
    };
    const attempted: Attempted = { kind: 'json', body: '{"choices":[]}', parsed: { choices: [] }, usage: lying as never, upstreamLatencyMs: 5, warnings: [] };
    await expect(settleStage(deps, recorder, async () => attempted)(attemptedCall())).rejects.toThrow('a bug in the settlement');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failure', error_code: 'internal' });
    expect(rows[0].cost_micros).toBeGreaterThan(0);
  });
});
