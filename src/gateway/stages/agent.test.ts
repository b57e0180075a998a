import { describe, expect, it } from 'vitest';
import { agentFromCreate } from '../../agents/definition.js';
import { GatewayError } from '../../errors.js';
import { chatCall, fakeContext, recordingNext } from '../../../test/support/stage-fakes.js';
import { failureOf, type Call } from '../call.js';
import { agentStage } from './agent.js';

const matcher = agentFromCreate({ name: 'supplier-matcher', model: 'gpt-4o', fallbacks: ['gemini-2.0-flash'], temperature: 0.2, max_tokens: 400, system_prompt: 'You match suppliers.' });
const paused = agentFromCreate({ name: 'paused-one', model: 'gpt-4o', status: 'paused' });
const agents = new Map([matcher, paused].map((agent) => [agent.name, agent]));
const stage = agentStage({ get: (name) => agents.get(name) });

async function refusal(call: Call): Promise<GatewayError> {
  const next = recordingNext();
  const error = await stage(call, next).catch((caught: GatewayError) => caught);
  expect(error).toBeInstanceOf(GatewayError);
  expect(next.calls).toHaveLength(0);
  return error as GatewayError;
}

describe('agent stage', () => {
  it('passes any other model through untouched (the same call object)', async () => {
    const call = chatCall({ model: 'gpt-4o' });
    const next = recordingNext();
    await stage(call, next);
    expect(next.calls[0]).toBe(call);
  });

  it('hands next a copy with the agent\'s model, fallbacks, temperature, max_tokens and system prompt; the client body is untouched', async () => {
    const call = chatCall({ model: 'agent/supplier-matcher' });
    const next = recordingNext();
    await stage(call, next);
    const handed = next.calls[0];
    expect(handed.agent).toBe('supplier-matcher');
    expect(handed.modelName).toBe('gpt-4o');
    expect(handed.operation.request).toEqual({
      model: 'gpt-4o',
      fallbacks: ['gemini-2.0-flash'],
      temperature: 0.2,
      max_tokens: 400,
      messages: [{ role: 'system', content: 'You match suppliers.' }, { role: 'user', content: 'hi' }],
    });
    expect(call.operation.request).toEqual({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('the client\'s own fallbacks, temperature, max_completion_tokens and system/developer message win', async () => {
    const call = chatCall({ model: 'agent/supplier-matcher', fallbacks: [], temperature: 1, max_completion_tokens: 10, messages: [{ role: 'developer', content: 'Mine.' }, { role: 'user', content: 'x' }] });
    const next = recordingNext();
    await stage(call, next);
    expect(next.calls[0].operation.request).toEqual({ model: 'gpt-4o', fallbacks: [], temperature: 1, max_completion_tokens: 10, messages: [{ role: 'developer', content: 'Mine.' }, { role: 'user', content: 'x' }] });
  });

  it('reads the agent on every call: a change applies to the next one', async () => {
    const live = new Map(agents);
    const changing = agentStage({ get: (name) => live.get(name) });
    const next = recordingNext();
    await changing(chatCall({ model: 'agent/supplier-matcher' }), next);
    live.set('supplier-matcher', { ...matcher, model: 'gemini-2.0-flash' });
    await changing(chatCall({ model: 'agent/supplier-matcher' }), next);
    expect(next.calls.map((call) => call.operation.request.model)).toEqual(['gpt-4o', 'gemini-2.0-flash']);
  });

  it('refuses an unknown agent with 404 agent_not_found, keeping the name for the usage row', async () => {
    const error = await refusal(chatCall({ model: 'agent/nobody' }));
    expect(error.code).toBe('agent_not_found');
    expect(error.status).toBe(404);
    expect(failureOf(error)?.call.modelName).toBe('agent/nobody');
  });

  it('refuses a paused agent with 503 agent_paused, the row naming the agent', async () => {
    const error = await refusal(chatCall({ model: 'agent/paused-one' }));
    expect(error).toMatchObject({ code: 'agent_paused', status: 503 });
    expect(failureOf(error)?.call.agent).toBe('paused-one');
  });

  it('refuses agents on embeddings (no chat to apply the agent to)', async () => {
    const call: Call = { ...chatCall({}), context: fakeContext({ endpoint: 'embeddings' }), operation: { kind: 'embeddings', request: { model: 'agent/supplier-matcher', input: 'x' } } };
    const error = await refusal(call);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('serves chat calls');
  });

  it('without an agent directory, agent/<name> is unknown', async () => {
    const next = recordingNext();
    const error = await agentStage(undefined)(chatCall({ model: 'agent/supplier-matcher' }), next).catch((caught: GatewayError) => caught);
    expect((error as GatewayError).code).toBe('agent_not_found');
  });
});
