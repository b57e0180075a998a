import { describe, expect, it } from 'vitest';
import { assertServiceTierBillable, validateChatRequest, validateCompletionRequest } from './validate.js';
import { responsesRequestToChat } from './formats/openai-responses/index.js';

describe('no client field makes a call cost more upstream than it is charged (service_tier, audio output)', () => {
  const chat = { model: 'gpt', messages: [{ role: 'user', content: 'hi' }] };

  it('takes the tiers billed at standard prices or below', () => {
    for (const tier of ['auto', 'default', 'flex', undefined, null]) expect(() => assertServiceTierBillable({ service_tier: tier })).not.toThrow();
    expect(() => validateChatRequest({ ...chat, service_tier: 'flex' })).not.toThrow();
  });

  it('refuses priority and scale, and anything else, on chat, completions and the Responses API, naming the field', () => {
    for (const tier of ['priority', 'scale', 'PRIORITY', 7]) {
      expect(() => validateChatRequest({ ...chat, service_tier: tier })).toThrow(/"service_tier".*not supported/);
      expect(() => validateCompletionRequest({ model: 'gpt', prompt: 'x', service_tier: tier })).toThrow(/"service_tier"/);
      expect(() => responsesRequestToChat({ model: 'gpt', input: 'hi', service_tier: tier })).toThrow(/"service_tier"/);
    }
  });

  it('refuses audio output, which is billed per audio token above the text price', () => {
    expect(() => validateChatRequest({ ...chat, modalities: ['text', 'audio'] })).toThrow(/audio output/);
    expect(() => validateChatRequest({ ...chat, audio: { voice: 'alloy', format: 'wav' } })).toThrow(/audio output/);
    expect(() => validateChatRequest({ ...chat, modalities: ['text'] })).not.toThrow();
  });
});
