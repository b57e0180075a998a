import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingOutboxRepository, OutboxRow } from '../storage/repositories/billing-outbox.js';
import { BillingDispatcher } from './billing-dispatcher.js';

/** An outbox in memory that records what the dispatcher decided for each event. */
class FakeOutbox {
  readonly outcomes = new Map<string, string>();
  constructor(private rows: OutboxRow[]) {}
  async claim(limit: number): Promise<OutboxRow[]> {
    const claimed = this.rows.slice(0, limit);
    this.rows = this.rows.slice(limit);
    return claimed;
  }
  async markDelivered(id: number) {
    this.outcomes.set(String(id), 'delivered');
  }
  async markFailed(id: number, error: string) {
    this.outcomes.set(String(id), `failed: ${error}`);
  }
  async reschedule(id: number, nextAttemptAt: number, error: string) {
    this.outcomes.set(String(id), `retry in ${Math.round((nextAttemptAt - Date.now()) / 100) * 100}: ${error}`);
  }
}

function event(id: number, attempts = 1): OutboxRow {
  return { id, transaction_id: `t${id}`, payload: JSON.stringify({ event: { transaction_id: `t${id}`, status: id } }), created_at: 0, attempts, next_attempt_at: 0, locked_until: null, delivered_at: null, failed_at: null, last_error: null };
}

/** Answers each event with the status its payload names (by id). */
const STATUS: Record<number, [number, string]> = { 1: [200, '{}'], 2: [422, '{"error":"Unprocessable","code":"validation_errors","error_details":{"transaction_id":["value_already_exist"]}}'], 3: [429, 'slow down'], 4: [400, 'bad event'], 5: [503, 'down'], 6: [408, 'timeout'] };
let server: Server;
let url: string;
const seen: Array<{ authorization?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      seen.push({ authorization: request.headers.authorization, body });
      const [status, text] = STATUS[(JSON.parse(body) as { event: { status: number } }).event.status];
      response.writeHead(status).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/events`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('BillingDispatcher', () => {
  it('marks 2xx (and an already-known transaction) delivered, retries 408/429/5xx with backoff, fails other 4xx for good', async () => {
    const outbox = new FakeOutbox([event(1), event(2), event(3, 1), event(4), event(5, 3), event(6, 10)]);
    const dispatcher = new BillingDispatcher({ url, apiKey: 'lago-key', maxAttempts: 10, timeoutMs: 2_000, logger: pino({ level: 'silent' }), baseBackoffMs: 1_000, random: () => 1 });
    dispatcher.attach(outbox as unknown as BillingOutboxRepository);
    await dispatcher.runOnce();
    await dispatcher.close();
    expect(Object.fromEntries(outbox.outcomes)).toEqual({
      '1': 'delivered',
      '2': 'delivered',
      '3': 'retry in 1000: HTTP 429: slow down',
      '4': 'failed: HTTP 400: bad event',
      // Third attempt: 1 s × 2² = 4 s.
      '5': 'retry in 4000: HTTP 503: down',
      // Its last allowed attempt.
      '6': 'failed: HTTP 408: timeout',
    });
    expect(seen.every((request) => request.authorization === 'Bearer lago-key')).toBe(true);
    expect(JSON.parse(seen[0].body)).toEqual({ event: { transaction_id: 't1', status: 1 } });
    expect(dispatcher.stats).toEqual({ delivered: 2, retried: 2, failed: 2 });
  });

  it('retries a receiver it cannot reach', async () => {
    const outbox = new FakeOutbox([event(7)]);
    const dispatcher = new BillingDispatcher({ url: 'http://127.0.0.1:1/api/v1/events', maxAttempts: 5, timeoutMs: 1_000, logger: pino({ level: 'silent' }), random: () => 1 });
    dispatcher.attach(outbox as unknown as BillingOutboxRepository);
    await dispatcher.runOnce();
    await dispatcher.close();
    expect(outbox.outcomes.get('7')).toMatch(/^retry in 1000: network error/);
  });
});
