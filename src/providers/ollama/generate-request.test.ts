/**
 * Outgoing /api/generate bodies, asserted whole against docs/api.md ("Generate a completion"
 * examples): a chat flattened into `prompt`, `system` and `images`.
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../types.js';
import { buildOllamaGenerateRequest } from './generate-request.js';
import { bodyOf, ollamaDeployment } from './test-support.js';

const deployment = ollamaDeployment({ provider: 'ollama' });

function build(request: Partial<ChatRequest>) {
  return buildOllamaGenerateRequest({ model: 'local-llama', messages: [{ role: 'user', content: 'Why is the sky blue?' }], ...request }, deployment);
}

describe('ollama request → POST /api/generate', () => {
  it('sends a single user turn as the bare prompt (docs "Request (No streaming)")', () => {
    const request = build({});
    expect(request.url).toBe('http://localhost:11434/api/generate');
    expect(request.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: false });
  });

  it('streams as NDJSON when asked (docs "Generate request (Streaming)")', () => {
    const request = build({ stream: true });
    expect(request.framing).toBe('ndjson');
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: true });
  });

  it('sends leading system messages as `system`', () => {
    const body = bodyOf(build({ messages: [{ role: 'system', content: 'You are Mario.' }, { role: 'developer', content: 'Stay in character.' }, { role: 'user', content: 'Who are you?' }] }));
    expect(body).toEqual({ model: 'llama3.2', prompt: 'Who are you?', system: 'You are Mario.\n\nStay in character.', stream: false });
  });

  it("flattens a longer chat into LiteLLM's ### transcript, tool calls and results included", () => {
    const body = bodyOf(
      build({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'why is the sky blue?' },
          { role: 'assistant', content: 'due to rayleigh scattering.' },
          { role: 'user', content: 'and the weather in Toronto?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Toronto"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '11 degrees celsius' },
          { role: 'system', content: 'Answer in one line.' },
        ],
      }),
    );
    expect(body).toEqual({
      model: 'llama3.2',
      system: 'Be brief.',
      prompt: [
        '### User:\nwhy is the sky blue?',
        '### Assistant:\ndue to rayleigh scattering.',
        '### User:\nand the weather in Toronto?',
        `### Assistant:\nTool Calls: ${JSON.stringify([{ function: { name: 'get_weather', arguments: { city: 'Toronto' } } }], null, 2)}`,
        '### User:\n11 degrees celsius',
        '### System:\nAnswer in one line.',
      ].join('\n\n'),
      stream: false,
    });
  });

  it('uses the instructions as the prompt when there is nothing else (an empty prompt only loads the model)', () => {
    expect(bodyOf(build({ messages: [{ role: 'system', content: 'Say hello.' }] }))).toEqual({ model: 'llama3.2', prompt: 'Say hello.', stream: false });
  });

  it('collects data: URL images into `images` (docs "Request (with images)")', () => {
    const body = bodyOf(
      build({
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg' } }] }],
      }),
    );
    expect(body).toEqual({ model: 'llama3.2', prompt: 'What is in this picture?', images: ['iVBORw0KGgoAAAANSUhEUg'], stream: false });
  });

  it('sends options, JSON mode, keep_alive and think (docs "Request (JSON mode)", "Reproducible outputs")', () => {
    const body = bodyOf(
      build({
        messages: [{ role: 'user', content: 'What color is the sky at different times of the day? Respond using JSON' }],
        response_format: { type: 'json_object' },
        seed: 123,
        temperature: 0,
        max_tokens: 100,
        keep_alive: '5m',
        reasoning_effort: 'low',
      }),
    );
    expect(body).toEqual({
      model: 'llama3.2',
      prompt: 'What color is the sky at different times of the day? Respond using JSON',
      stream: false,
      format: 'json',
      options: { seed: 123, temperature: 0, num_predict: 100 },
      keep_alive: '5m',
      think: 'low',
    });
  });
});
