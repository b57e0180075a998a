/**
 * Starts a whole gateway (the same runtime `switchboard start` builds) on an ephemeral port, from
 * YAML text, with its own in-memory SQLite database (or the given DATABASE_URL) and a silent logger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino, { type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime, type GatewayRuntime } from '../../src/runtime/gateway-runtime.js';
import type { StoredUsageLog } from '../../src/storage/schema.js';
import type { CallbackQueueTuning } from '../../src/observability/callbacks/callbacks.js';

export const MASTER_KEY = 'sk-test-master-key';

export interface TestGateway {
  url: string;
  runtime: GatewayRuntime;
  /** The official openai client on this gateway (master key unless another is given; no SDK retries). */
  openai(apiKey?: string): OpenAI;
  /** The usage record of a call, once queued records are written. */
  recordOf(callId: string): Promise<StoredUsageLog | undefined>;
  /** Waits until every queued usage row has been written. */
  flushUsage(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix?: string;
  random?: () => number;
  /** The gateway's logger (default: silent, or TEST_LOG_LEVEL); tests that read the log pass their own. */
  logger?: Logger;
  /** The logging callbacks' queue sizes and timings. */
  callbackTuning?: CallbackQueueTuning;
  /** The clock of the daily spend report. */
  reportClock?: () => number;
}

export async function startGateway(yaml: string, options: StartOptions = {}): Promise<TestGateway> {
  const loaded = parseConfig(yaml, { ...options.env }, 'test-config.yaml');
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const runtime = await createRuntime(loaded, {
    logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    databaseUrl: options.databaseUrl ?? 'sqlite::memory:',
    dataDir,
    usageFlushIntervalMs: 20,
    redisUrl: options.redisUrl,
    redisPrefix: options.redisPrefix,
    random: options.random,
    callbackTuning: options.callbackTuning,
    reportClock: options.reportClock,
  });
  const url = await runtime.listen(0, '127.0.0.1');
  const ready = Date.now() + 10_000;
  while (runtime.database.status === 'connecting' && Date.now() < ready) await new Promise((resolve) => setTimeout(resolve, 10));
  const gateway: TestGateway = {
    url,
    runtime,
    openai: (apiKey = MASTER_KEY) => new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0 }),
    async recordOf(callId) {
      await gateway.flushUsage();
      return runtime.usageLogs()!.findByCallId(callId);
    },
    async flushUsage() {
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        await runtime.usageWriter.flush(true);
        if (runtime.usageWriter.snapshot().queued === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      // Bounded like a real stop (shutdown_timeout): a connection a test left open cannot hold the suite.
      await runtime.close({ timeoutMs: 5_000 });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return gateway;
}

/** A config with one OpenAI-compatible model group pointing at a mock upstream. */
export function openAIConfig(apiBase: string, extra = ''): string {
  return `
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${apiBase}
      api_key: sk-upstream-test
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: ${apiBase}
      api_key: sk-upstream-test
    model_info:
      mode: embedding
general_settings:
  master_key: ${MASTER_KEY}
${extra}`;
}
