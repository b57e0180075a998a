/** Whole (`stream: false`) answers of docs/api.md as OpenAI chat completions. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { finishReason, parseOllamaResponse, usageFromMetrics } from './response.js';
import { CREATED_NOW, fixedIds, ollamaDeployment, seconds } from './test-support.js';

const deployment = ollamaDeployment();

describe('Ollama answers → OpenAI chat completions', () => {
  it('maps the docs "Chat request (No streaming)" response, usage from the counts', () => {
    const body = {
      model: 'llama3.2',
      created_at: '2023-12-12T14:13:43.416799Z',
      message: { role: 'assistant', content: 'Hello! How are you today?' },
      done: true,
      total_duration: 5191566416,
      load_duration: 2154458,
      prompt_eval_count: 26,
      prompt_eval_duration: 383809000,
      eval_count: 298,
      eval_duration: 4799921000,
    };
    expect(parseOllamaResponse(body, deployment, 'chat', fixedIds)).toEqual({
      id: 'chatcmpl-fixed',
      object: 'chat.completion',
      created: seconds('2023-12-12T14:13:43.416799Z'),
      model: 'llama3.2',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How are you today?' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 26, completion_tokens: 298, total_tokens: 324 },
    });
  });

  it('maps tool calls: arguments as a JSON string, synthesized ids, finish "tool_calls" (docs "No streaming, with tools")', () => {
    const body = {
      model: 'llama3.2',
      created_at: '2025-07-07T20:32:53.844124Z',
      message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Tokyo' } } }] },
      done_reason: 'stop',
      done: true,
      total_duration: 3244883583,
      load_duration: 2969184542,
      prompt_eval_count: 169,
      prompt_eval_duration: 141656333,
      eval_count: 18,
      eval_duration: 133293625,
    };
    expect(parseOllamaResponse(body, deployment, 'chat', fixedIds).choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_fixed_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } }] },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ]);
  });

  it("keeps the id newer Ollama servers give a tool call", () => {
    const body = { model: 'qwen3', created_at: '2025-07-07T20:32:53Z', message: { role: 'assistant', content: '', tool_calls: [{ id: 'call_k3j4h5g6', function: { index: 0, name: 'f', arguments: {} } }] }, done: true, done_reason: 'stop', eval_count: 3, prompt_eval_count: 4 };
    expect(parseOllamaResponse(body, deployment, 'chat', fixedIds).choices[0].message.tool_calls).toEqual([{ id: 'call_k3j4h5g6', type: 'function', function: { name: 'f', arguments: '{}' } }]);
  });

  it('maps message.thinking to reasoning_content', () => {
    const body = { model: 'qwen3', created_at: '2025-10-17T23:14:07.414671Z', message: { role: 'assistant', content: 'There are 3.', thinking: 's-t-r-a-w-b-e-r-r-y' }, done: true, done_reason: 'stop', prompt_eval_count: 18, eval_count: 40 };
    expect(parseOllamaResponse(body, deployment, 'chat', fixedIds).choices[0].message).toEqual({ role: 'assistant', content: 'There are 3.', reasoning_content: 's-t-r-a-w-b-e-r-r-y' });
  });

  it('maps a /api/generate answer: `response` is the content (docs "Request (with suffix)")', () => {
    const body = {
      model: 'codellama:code',
      created_at: '2024-07-22T20:47:51.147561Z',
      response: '\n  if a == 0:\n    return b\n',
      done: true,
      done_reason: 'stop',
      context: [1, 2, 3],
      total_duration: 1162761250,
      load_duration: 6683708,
      prompt_eval_count: 17,
      prompt_eval_duration: 201222000,
      eval_count: 63,
      eval_duration: 953997000,
    };
    expect(parseOllamaResponse(body, ollamaDeployment({ provider: 'ollama' }), 'generate', fixedIds)).toEqual({
      id: 'chatcmpl-fixed',
      object: 'chat.completion',
      created: seconds('2024-07-22T20:47:51.147561Z'),
      model: 'codellama:code',
      choices: [{ index: 0, message: { role: 'assistant', content: '\n  if a == 0:\n    return b\n' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 17, completion_tokens: 63, total_tokens: 80 },
    });
  });

  it('answers a load/unload reply with finish "stop" and no usage', () => {
    const body = { model: 'llama3.2', created_at: '2024-09-12T21:17:29.110811Z', message: { role: 'assistant', content: '' }, done_reason: 'load', done: true };
    const response = parseOllamaResponse(body, deployment, 'chat', fixedIds);
    expect(response.choices[0].finish_reason).toBe('stop');
    expect(response.usage).toBeUndefined();
  });

  it('uses the clock when created_at is missing or unreadable', () => {
    expect(parseOllamaResponse({ message: { role: 'assistant', content: 'x' }, done: true, created_at: 'yesterday' }, deployment, 'chat', fixedIds).created).toBe(CREATED_NOW);
  });

  it('throws the error Ollama reported, and a 502 for a body that is not an answer', () => {
    expect(() => parseOllamaResponse({ error: 'the model failed to generate a response' }, deployment, 'chat', fixedIds)).toThrow(/the model failed to generate a response/);
    const invalid = (() => {
      try {
        parseOllamaResponse({ choices: [] }, deployment, 'chat', fixedIds);
      } catch (error) {
        return error;
      }
    })();
    expect(invalid).toBeInstanceOf(GatewayError);
    expect(invalid).toMatchObject({ status: 502, code: 'upstream_invalid_response' });
  });
});

describe('finish reasons', () => {
  it('maps done_reason, with tool calls reported as "tool_calls" since Ollama says "stop"', () => {
    expect(finishReason('stop', false)).toBe('stop');
    expect(finishReason('length', false)).toBe('length');
    expect(finishReason('stop', true)).toBe('tool_calls');
    expect(finishReason(undefined, true)).toBe('tool_calls');
    expect(finishReason('load', false)).toBe('stop');
    expect(finishReason('unload', false)).toBe('stop');
    expect(finishReason(undefined, false)).toBe('stop');
  });
});

describe('usage from the done line', () => {
  it('takes prompt_eval_count and eval_count', () => {
    expect(usageFromMetrics({ promptEvalCount: 26, evalCount: 282 })).toEqual({ promptTokens: 26, completionTokens: 282, totalTokens: 308 });
  });

  it('keeps a missing prompt_eval_count unknown (a cached prompt), not zero', () => {
    expect(usageFromMetrics({ evalCount: 12 })).toEqual({ promptTokens: undefined, completionTokens: 12 });
  });

  it('reads a missing eval_count next to other counts as zero output tokens (omitempty)', () => {
    expect(usageFromMetrics({ promptEvalCount: 9 })).toEqual({ promptTokens: 9, completionTokens: 0, totalTokens: 9 });
  });

  it('has no usage when the line has no counts at all', () => {
    expect(usageFromMetrics({})).toBeUndefined();
  });
});
