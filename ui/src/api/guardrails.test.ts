/** Reading a log row's guardrail outcomes and the /guardrails/list answer, and the words the Logs page shows for each outcome. */
import { afterEach, describe, expect, it } from 'vitest';
import { guardrailOutcomes, listGuardrails, outcomeText } from './guardrails';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe('guardrail outcomes on a log row', () => {
  it('reads metadata.guardrails and says what each did', () => {
    const outcomes = guardrailOutcomes({
      guardrails: [
        { name: 'pii-mask', stage: 'pre_call', action: 'masked', detail: 'EMAIL_ADDRESS,PHONE_NUMBER', count: 3 },
        { name: 'one', stage: 'pre_call', action: 'masked', detail: 'EMAIL_ADDRESS', count: 1 },
        { name: 'ext', stage: 'pre_call', action: 'modified' },
        { name: 'ext-open', stage: 'pre_call', action: 'passed', detail: 'unchecked (fail_open): timeout' },
        { name: 'no-secrets', stage: 'post_call', action: 'blocked', detail: 'Blocked by guardrail "no-secrets": the answer contains the blocked word "x"' },
        { name: 'pii-mask', stage: 'post_call', action: 'restored' },
      ],
    });
    expect(outcomes.map(outcomeText)).toEqual([
      'masked 3 entities (EMAIL_ADDRESS, PHONE_NUMBER)',
      'masked 1 entity (EMAIL_ADDRESS)',
      'intervened (the guardrail API rewrote the text)',
      'passed, unchecked (fail_open): timeout',
      'blocked: Blocked by guardrail "no-secrets": the answer contains the blocked word "x"',
      'restored the masked values in the answer',
    ]);
  });

  it('reads a row recorded before the count was kept, and ignores metadata of another shape', () => {
    expect(guardrailOutcomes({ guardrails: [{ name: 'pii', stage: 'pre_call', action: 'masked', detail: 'IP_ADDRESS' }] }).map(outcomeText)).toEqual(['masked entities (IP_ADDRESS)']);
    expect(guardrailOutcomes(null)).toEqual([]);
    expect(guardrailOutcomes({ guardrails: 'pii-mask' })).toEqual([]);
    expect(guardrailOutcomes({ guardrails: ['pii-mask', { name: 'x', action: 'passed' }] })).toEqual([{ name: 'x', stage: '', action: 'passed', detail: null, count: null }]);
  });
});

describe('listGuardrails', () => {
  it('reads LiteLLM\'s shape: a single mode or a list, default_on, PII entity actions', async () => {
    globalThis.fetch = (async () =>
      new Response(
        JSON.stringify({
          guardrails: [
            { guardrail_name: 'pii-mask', litellm_params: { guardrail: 'presidio', mode: 'pre_call', default_on: true }, guardrail_info: { type: 'pii', pii_entities: { EMAIL_ADDRESS: 'mask' }, output_parse_pii: true } },
            { guardrail_name: 'filter', litellm_params: { guardrail: 'content_filter', mode: ['pre_call', 'post_call'], default_on: false }, guardrail_info: { type: 'content_filter' } },
          ],
        }),
        { headers: { 'content-type': 'application/json' } },
      )) as typeof fetch;
    expect(await listGuardrails()).toEqual([
      { name: 'pii-mask', guardrail: 'presidio', type: 'pii', modes: ['pre_call'], defaultOn: true, piiEntities: { EMAIL_ADDRESS: 'mask' }, outputParsePii: true },
      { name: 'filter', guardrail: 'content_filter', type: 'content_filter', modes: ['pre_call', 'post_call'], defaultOn: false, piiEntities: null, outputParsePii: false },
    ]);
  });
});
