/**
 * The scenario of the budget-period change tests (items 227 and 228): a budget that covers exactly
 * three calls, three calls held in flight upstream to fill it, a change that starts a new period,
 * and what must hold after it — a fourth call still refused, nothing more sent upstream, and the
 * budget usable again once the calls in flight end (their reservations released, none leaked).
 */
import type OpenAI from 'openai';
import { expect } from 'vitest';
import { chatStatus, maxCostMicros } from './management.js';
import type { MockOpenAI } from './mock-openai.js';
import { waitFor } from './wait.js';

export const PERIOD_MAX_TOKENS = 10;
/** What one call reserves: its prompt's bound and 10 output tokens at the cheap prices (38 µ$). */
export const PERIOD_CALL_MICROS = maxCostMicros('hi', PERIOD_MAX_TOKENS);
/** A budget that covers exactly 3 calls in flight. */
export const PERIOD_BUDGET_USD = (3 * PERIOD_CALL_MICROS) / 1_000_000;

/** Starts 3 calls that stay in flight upstream (the mock never answers them) until aborted. */
async function threeInFlight(upstream: MockOpenAI, client: OpenAI): Promise<{ abort(): Promise<void> }> {
  const before = upstream.requests.length;
  const controller = new AbortController();
  upstream.alwaysFault = { kind: 'stall' };
  const calls = Array.from({ length: 3 }, () =>
    client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: PERIOD_MAX_TOKENS, stream: true }, { signal: controller.signal }).then(
      async (stream) => {
        for await (const _chunk of stream) void _chunk;
      },
      () => undefined,
    ),
  );
  await waitFor(() => upstream.requests.length - before === 3, 'the 3 calls reaching the upstream');
  upstream.alwaysFault = undefined;
  return {
    async abort() {
      controller.abort();
      await Promise.all(calls.map((call) => call.catch(() => undefined)));
      await waitFor(() => upstream.requests.slice(before, before + 3).every((request) => request.aborted), 'the 3 calls ending upstream');
    },
  };
}

/** Calls until one is admitted (the calls in flight settled and gave their reservations back); fails after 10 s. */
async function admittedAgain(client: OpenAI): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const outcome = await chatStatus(client, { model: 'cheap', max_tokens: PERIOD_MAX_TOKENS });
    if (outcome.status === 200) return;
    expect(outcome.status).toBe(400);
    if (Date.now() > deadline) throw new Error('the budget stayed held after the calls in flight ended: their reservations leaked');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** 3 calls in flight fill the budget; after `change` a 4th is still refused, and the budget comes back once they end. */
export async function periodChangeScenario(upstream: MockOpenAI, client: OpenAI, change: () => Promise<unknown>): Promise<void> {
  const inFlight = await threeInFlight(upstream, client);
  try {
    const fourth = await chatStatus(client, { model: 'cheap', max_tokens: PERIOD_MAX_TOKENS });
    expect(fourth.status).toBe(400);
    expect(fourth.error?.error).toMatchObject({ type: 'budget_exceeded' });

    await change();

    const before = upstream.requests.length;
    const after = await Promise.all(Array.from({ length: 3 }, () => chatStatus(client, { model: 'cheap', max_tokens: PERIOD_MAX_TOKENS })));
    expect(after.map((outcome) => outcome.status)).toEqual([400, 400, 400]);
    expect(upstream.requests.length - before).toBe(0);
  } finally {
    await inFlight.abort();
  }
  // Settling the calls admitted in the old period released their reservations from the new one.
  await admittedAgain(client);
}
