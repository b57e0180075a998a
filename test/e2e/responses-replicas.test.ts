/**
 * Stored responses across two replicas sharing PostgreSQL: a response created on one replica is
 * read, listed, continued (on another provider) and deleted through the other once its queued write
 * landed — the conversation lives in the database, not in a replica.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const postgres = await postgresAvailableForTests();

describe.runIf(postgres)('stored responses on two replicas sharing PostgreSQL', () => {
  const anthropic = new MockAnthropic();
  const gemini = new MockGemini();
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    await Promise.all([anthropic.start(), gemini.start()]);
    database = await createPostgresDatabase();
    const config = `
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${anthropic.url}
      api_key: sk-ant-upstream
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${gemini.url}
      api_key: gemini-upstream-key
general_settings:
  master_key: ${MASTER_KEY}
`;
    replicaA = await startGateway(config, { databaseUrl: database.url });
    replicaB = await startGateway(config, { databaseUrl: database.url });
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
    await Promise.all([anthropic.close(), gemini.close()]);
  });

  it('creates on A (Claude), continues on B (Gemini), and deletes through B for A too', async () => {
    const a = replicaA.openai();
    const b = replicaB.openai();
    const first = await a.responses.create({ model: 'claude', input: 'My name is Ada.' });
    await replicaA.runtime.responses.flush();

    expect((await b.responses.retrieve(first.id)).output_text).toBe('Hello from the mock Claude!');
    const second = await b.responses.create({ model: 'gemini', input: 'What is my name?', previous_response_id: first.id });
    expect(second.output_text).toBe('Hello from Gemini!');
    const sent = JSON.stringify(gemini.requests.at(-1)!.body);
    expect(sent).toContain('My name is Ada.');
    expect(sent).toContain('Hello from the mock Claude!');
    await replicaB.runtime.responses.flush();

    const items = await a.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((item) => item.type)).toEqual(['message', 'message', 'message']);

    await b.responses.delete(first.id);
    await expect(a.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // The later response keeps its own copy of the conversation.
    expect((await a.responses.retrieve(second.id)).previous_response_id).toBe(first.id);
  });
});
