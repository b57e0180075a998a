import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { UsageLogRow } from '../../storage/schema.js';
import { Alerting } from './alerting.js';

const logger = pino({ level: 'silent' });

function failure(deployment: string, code = 'upstream_error'): UsageLogRow {
  return { call_id: 'c', created_at: 0, endpoint: 'chat/completions', key_hash: null, key_id: null, key_alias: null, user_id: null, team_id: null, model_group: 'g', deployment_id: deployment, provider: 'openai', upstream_model: 'm', stream: 0, prompt_tokens: null, completion_tokens: null, total_tokens: null, cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: null, latency_ms: 10, time_to_first_token_ms: null, upstream_latency_ms: null, status: 'failure', http_status: 502, error_code: code, error_message: 'boom', retries: 0, fallbacks: 0, metadata: null, credits_millicredits: null, power_level: null };
}

describe('Alerting', () => {
  it('alerts once per condition per hour, again after the window, and separately per condition', () => {
    let now = 1_000_000;
    const alerting = Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => now)!;
    for (let i = 0; i < 5; i++) alerting.recorded(failure('a'));
    alerting.recorded(failure('b'));
    alerting.recorded(failure('a', 'timeout'));
    expect(alerting.snapshot()[0].queued).toBe(3);
    expect(alerting.suppressedCount).toBe(4);
    now += 60 * 60 * 1000;
    alerting.recorded(failure('a'));
    expect(alerting.snapshot()[0].queued).toBe(4);
  });

  it('sends at most 20 alerts a minute', () => {
    let now = 5_000_000;
    const alerting = Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => now)!;
    for (let i = 0; i < 30; i++) alerting.recorded(failure(`d${i}`));
    expect(alerting.snapshot()[0].queued).toBe(20);
    now += 60_000;
    alerting.recorded(failure('fresh'));
    expect(alerting.snapshot()[0].queued).toBe(21);
  });

  it('alerts slow successes over the threshold, and no client errors', () => {
    const alerting = Alerting.fromSettings({ alerting: ['webhook'], alerting_threshold: 2 }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger)!;
    alerting.recorded({ ...failure('a'), status: 'success', http_status: 200, latency_ms: 1_500 });
    expect(alerting.snapshot()[0].queued).toBe(0);
    alerting.recorded({ ...failure('a'), status: 'success', http_status: 200, latency_ms: 2_500 });
    expect(alerting.snapshot()[0].queued).toBe(1);
    alerting.recorded({ ...failure('c'), http_status: 400 });
    expect(alerting.snapshot()[0].queued).toBe(1);
  });

  it('is off without a channel whose URL is set', () => {
    expect(Alerting.fromSettings({ alerting: ['slack'] }, {}, logger)).toBeUndefined();
    expect(Alerting.fromSettings({}, { SLACK_WEBHOOK_URL: 'http://x' }, logger)).toBeUndefined();
  });
});
