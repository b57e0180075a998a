import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { spendLogPrivacyOf, withoutContent } from './spend-log-privacy.js';
import { toUsageRow } from './usage-row.js';
import type { CallContext } from './call-context.js';

const config = (general: Record<string, unknown>, litellm: Record<string, unknown> = {}) => configSchema.parse({ general_settings: general, litellm_settings: litellm });

describe('spend log privacy', () => {
  it('store_prompts_in_spend_logs opts in; turn_off_message_logging and disable_spend_logs win over it', () => {
    expect(spendLogPrivacyOf(config({}))).toEqual({ storePrompts: false, withoutContent: false });
    expect(spendLogPrivacyOf(config({ store_prompts_in_spend_logs: true }))).toEqual({ storePrompts: true, withoutContent: false });
    expect(spendLogPrivacyOf(config({ store_prompts_in_spend_logs: true }, { turn_off_message_logging: true }))).toEqual({ storePrompts: false, withoutContent: false });
    expect(spendLogPrivacyOf(config({ store_prompts_in_spend_logs: true, disable_spend_logs: true }))).toEqual({ storePrompts: false, withoutContent: true });
  });

  it('a row without content keeps every counter and drops prompt, answer, metadata, tags, end user, address and error text', () => {
    const context = {
      callId: 'call-1',
      startedAtEpochMs: 1,
      endpoint: '/v1/chat/completions',
      caller: { keyHash: 'h', keyId: 'k', keyAlias: 'a', userId: 'u', teamId: 't' },
      requestTags: ['team-a'],
      endUser: 'someone',
      requesterIp: '10.0.0.1',
    } as unknown as CallContext;
    const row = toUsageRow(context, {
      modelGroup: 'g',
      deployment: undefined,
      requested: 'alias',
      retries: 1,
      fallbacks: 0,
      stream: false,
      settlement: { usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, costMicros: 42, upstreamLatencyMs: 3, timeToFirstTokenMs: null, responseText: 'answer' },
      error: undefined,
      aborted: false,
      byok: false,
      creditsCharged: 7,
      powerLevel: undefined,
      promptForLog: '[{"role":"user","content":"secret"}]',
      latencyMs: 5,
    });
    expect(row).toMatchObject({ messages: expect.any(String), response: 'answer', metadata: expect.any(String), request_tags: '["team-a"]', end_user: 'someone', requester_ip: '10.0.0.1' });
    const stripped = withoutContent(row);
    expect(stripped).toMatchObject({ messages: null, response: null, metadata: null, request_tags: null, end_user: null, requester_ip: null, error_message: null });
    const kept = Object.fromEntries(Object.entries(row).filter(([column]) => !['messages', 'response', 'metadata', 'request_tags', 'end_user', 'requester_ip', 'error_message'].includes(column)));
    expect(stripped).toMatchObject(kept);
    expect(stripped).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost_micros: 42, credits_millicredits: 7, key_hash: 'h', user_id: 'u', team_id: 't', model_group: 'g', retries: 1 });
  });
});
