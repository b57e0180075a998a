import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../errors.js';
import { geminiAdapter } from './index.js';
import { geminiDeployment } from './test-support.js';
import { usageFromOpenAI, usageToOpenAI } from '../shared/usage.js';
import { mapFinishReason, usageFromGemini, writesOutput } from './response.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const CREATED = NOW / 1000;

const target = geminiDeployment();

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('gemini chat response', () => {
  it('a text answer', () => {
    expect(geminiAdapter.parseChatResponse(fixture('response-text.json'), target)).toEqual({
      id: 'chatcmpl-A0JkaLfGIZ2Jnvgp5Ji2sQ4',
      object: 'chat.completion',
      created: CREATED,
      model: 'gemini-2.0-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'In a quiet town, a magic backpack granted wishes.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 9, completion_tokens: 11, total_tokens: 20, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
  });

  it('a function call becomes a tool call, and STOP becomes tool_calls', () => {
    expect(geminiAdapter.parseChatResponse(fixture('response-function-call.json'), target)).toEqual({
      id: 'chatcmpl-Xj5kaKvLAbCdnvgP0oG4wQk',
      object: 'chat.completion',
      created: CREATED,
      model: 'gemini-2.0-flash',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'set_light_values', arguments: '{"brightness":25,"color_temp":"warm"}' } }] },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 71, completion_tokens: 10, total_tokens: 81, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
  });

  it('a blocked prompt becomes one content_filter choice', () => {
    const response = geminiAdapter.parseChatResponse(fixture('response-prompt-blocked.json'), target);
    expect(response.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null }]);
    expect(response.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 0, total_tokens: 11 });
  });

  it('thought parts become reasoning_content; signatures, ids and thought tokens are kept', () => {
    const response = geminiAdapter.parseChatResponse(
      {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [
                { text: 'The user wants the lights warm.', thought: true },
                { text: 'Setting the lights.' },
                { functionCall: { id: 'fc-1', name: 'set_light_values', args: { color_temp: 'warm' } }, thoughtSignature: 'c2ln' },
                { functionCall: { name: 'get_room' } },
              ],
            },
            finishReason: 'STOP',
          },
        ],
        usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, thoughtsTokenCount: 30, cachedContentTokenCount: 32, totalTokenCount: 82 },
        modelVersion: 'gemini-2.5-flash',
      },
      target,
    );
    expect(response.model).toBe('gemini-2.5-flash');
    expect(response.id).toMatch(/^chatcmpl-[A-Za-z0-9_-]{16}$/);
    expect(response.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'Setting the lights.',
        reasoning_content: 'The user wants the lights warm.',
        tool_calls: [
          { id: 'fc-1', type: 'function', function: { name: 'set_light_values', arguments: '{"color_temp":"warm"}' }, extra_content: { google: { thought_signature: 'c2ln' } } },
          { id: 'call_1', type: 'function', function: { name: 'get_room', arguments: '{}' } },
        ],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
    expect(response.usage).toEqual({ prompt_tokens: 40, completion_tokens: 42, total_tokens: 82, prompt_tokens_details: { cached_tokens: 32 }, completion_tokens_details: { reasoning_tokens: 30 } });
  });

  it('several candidates become choices ordered by index (index 0 is left out on the wire)', () => {
    const response = geminiAdapter.parseChatResponse(
      {
        candidates: [
          { content: { role: 'model', parts: [{ text: 'B' }] }, finishReason: 'MAX_TOKENS', index: 1 },
          { content: { role: 'model', parts: [{ text: 'A' }] }, finishReason: 'STOP' },
        ],
      },
      target,
    );
    expect(response.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
      [0, 'A', 'stop'],
      [1, 'B', 'length'],
    ]);
    // No usageMetadata at all: usage is unknown, not zero.
    expect(response.usage).toBeUndefined();
  });

  it('refuses a body that is not a GenerateContentResponse', () => {
    expect(() => geminiAdapter.parseChatResponse({ choices: [] }, target)).toThrow(GatewayError);
    expect(() => geminiAdapter.parseChatResponse([], target)).toThrow(/not a GenerateContentResponse/);
  });
});

describe('finish reasons and usage', () => {
  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', false, 'length'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['IMAGE_SAFETY', false, 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', false, 'stop'],
    ['LANGUAGE', false, 'stop'],
    ['OTHER', false, 'stop'],
    ['FINISH_REASON_UNSPECIFIED', false, 'stop'],
  ])('%s (function calls: %s) → %s', (reason, calls, expected) => {
    expect(mapFinishReason(reason, calls)).toBe(expected);
  });

  it('no finishReason yet (a stream in progress) → null', () => {
    expect(mapFinishReason(undefined, false)).toBeNull();
  });

  it('counts absent from usageMetadata are zero (proto3), absent usageMetadata is unknown', () => {
    expect(usageFromGemini({ promptTokenCount: 8, totalTokenCount: 8 }, false)).toEqual({ promptTokens: 8, completionTokens: 0, totalTokens: 8, cachedTokens: 0, reasoningTokens: 0 });
    expect(usageFromGemini(undefined)).toBeUndefined();
  });

  it('an absent output count is the total beyond the prompt, thoughts and tool-use prompt; else unknown for an answer that wrote something', () => {
    expect(usageFromGemini({ promptTokenCount: 8, totalTokenCount: 408 })).toMatchObject({ promptTokens: 8, completionTokens: 400, totalTokens: 408 });
    expect(usageFromGemini({ promptTokenCount: 8, toolUsePromptTokenCount: 2, thoughtsTokenCount: 30, totalTokenCount: 140 })).toMatchObject({ promptTokens: 10, completionTokens: 130, reasoningTokens: 30 });
    // The total holds nothing more: a stream's event before the last, or an upstream that left the output out.
    expect(usageFromGemini({ promptTokenCount: 8, totalTokenCount: 8 })).toMatchObject({ promptTokens: 8, completionTokens: undefined, totalTokens: 8 });
    // Thoughts only (the output limit reached while thinking): the thoughts are the output.
    expect(usageFromGemini({ promptTokenCount: 8, thoughtsTokenCount: 50, totalTokenCount: 58 })).toMatchObject({ completionTokens: 50 });
    // A count that is given is taken as given.
    expect(usageFromGemini({ promptTokenCount: 8, candidatesTokenCount: 0, totalTokenCount: 8 })).toMatchObject({ completionTokens: 0 });
  });

  it('writesOutput: text, thoughts, calls and media are output; empty text and a bare thought signature are not', () => {
    expect(writesOutput([{ content: { role: 'model', parts: [{ text: 'hi' }] } }])).toBe(true);
    expect(writesOutput([{ content: { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] } }])).toBe(true);
    expect(writesOutput([{ content: { role: 'model', parts: [{ text: '' }, { thoughtSignature: 'abc' } as never] } }])).toBe(false);
    expect(writesOutput([{ finishReason: 'SAFETY' }])).toBe(false);
    expect(writesOutput([])).toBe(false);
  });

  it('tool-use prompt tokens are input tokens, so prompt + completion = total', () => {
    expect(usageFromGemini({ promptTokenCount: 10, toolUsePromptTokenCount: 90, candidatesTokenCount: 5, totalTokenCount: 105 })).toMatchObject({ promptTokens: 100, completionTokens: 5, totalTokens: 105 });
  });

  it('audio prompt tokens (promptTokensDetails modality AUDIO, less cached audio) are kept apart; OpenAI usage carries them as audio_tokens', () => {
    const metadata = {
      promptTokenCount: 1_010,
      candidatesTokenCount: 20,
      totalTokenCount: 1_030,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }, { modality: 'AUDIO', tokenCount: 1_000 }],
    };
    expect(usageFromGemini(metadata)).toMatchObject({ promptTokens: 1_010, audioInputTokens: 1_000 });
    const cached = { ...metadata, cachedContentTokenCount: 600, cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 600 }] };
    expect(usageFromGemini(cached)).toMatchObject({ cachedTokens: 600, audioInputTokens: 400 });
    const tools = { ...metadata, toolUsePromptTokenCount: 50, toolUsePromptTokensDetails: [{ modality: 'AUDIO', tokenCount: 50 }] };
    expect(usageFromGemini(tools)).toMatchObject({ promptTokens: 1_060, audioInputTokens: 1_050 });
    // Text, image and video only: no audio field at all (billed at the input rate, as before).
    expect(usageFromGemini({ promptTokenCount: 300, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 42 }, { modality: 'IMAGE', tokenCount: 258 }] })).not.toHaveProperty('audioInputTokens');
    // Hostile details: non-numbers count 0, a list that is no list is ignored.
    expect(usageFromGemini({ promptTokenCount: 5, promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 'many' }, null] as never })).not.toHaveProperty('audioInputTokens');
    expect(usageFromGemini({ promptTokenCount: 5, promptTokensDetails: { modality: 'AUDIO', tokenCount: 5 } as never })).not.toHaveProperty('audioInputTokens');
    // The chat path bills the OpenAI usage the adapter answers: the split survives it.
    const openai = usageToOpenAI(usageFromGemini(metadata)!);
    expect(openai.prompt_tokens_details).toMatchObject({ audio_tokens: 1_000 });
    expect(usageFromOpenAI(openai)).toMatchObject({ promptTokens: 1_010, audioInputTokens: 1_000 });
  });

  it('generated image tokens (candidatesTokensDetails modality IMAGE) are kept apart; OpenAI usage carries them as image_tokens', () => {
    // gemini-2.5-flash-image's answer with one 1024×1024 image and a caption.
    const metadata = {
      promptTokenCount: 12,
      candidatesTokenCount: 1_290 + 8,
      totalTokenCount: 1_310,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 12 }],
      candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1_290 }, { modality: 'TEXT', tokenCount: 8 }],
    };
    expect(usageFromGemini(metadata)).toMatchObject({ promptTokens: 12, completionTokens: 1_298, imageOutputTokens: 1_290 });
    expect(usageFromGemini(metadata)).not.toHaveProperty('audioInputTokens');
    // Text only: no image field at all (billed at the output rate, as before).
    expect(usageFromGemini({ ...metadata, candidatesTokenCount: 8, candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 8 }] })).not.toHaveProperty('imageOutputTokens');
    // Image tokens in the prompt are input, not output.
    expect(usageFromGemini({ promptTokenCount: 270, promptTokensDetails: [{ modality: 'IMAGE', tokenCount: 258 }], candidatesTokenCount: 3 })).not.toHaveProperty('imageOutputTokens');
    // Hostile details: non-numbers count 0, a list that is no list is ignored.
    expect(usageFromGemini({ candidatesTokenCount: 5, candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 'many' }, null] as never })).not.toHaveProperty('imageOutputTokens');
    expect(usageFromGemini({ candidatesTokenCount: 5, candidatesTokensDetails: { modality: 'IMAGE', tokenCount: 5 } as never })).not.toHaveProperty('imageOutputTokens');
    const openai = usageToOpenAI(usageFromGemini(metadata)!);
    expect(openai.completion_tokens_details).toMatchObject({ image_tokens: 1_290 });
    expect(usageFromOpenAI(openai)).toMatchObject({ completionTokens: 1_298, imageOutputTokens: 1_290 });
  });
});
