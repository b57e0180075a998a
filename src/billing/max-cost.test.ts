import { describe, expect, it } from 'vitest';
import { deflateSync } from 'node:zlib';
import type { Deployment } from '../providers/types.js';
import { billableOutputLimit, DEFAULT_INPUT_WINDOW, DEFAULT_OUTPUT_TOKEN_LIMIT, generatedChoices, maxCostMicros, promptCount, promptReadBound, REASONING_ALLOWANCE, predictionTokenBound, promptTokenBound, toolPromptTokens, type CostInput } from './max-cost.js';
import { usageLimits } from './usage-bounds.js';

const BASE_MESSAGES = [{ role: 'user', content: 'hi' }];
const chat = (body: Record<string, unknown>): CostInput => ({ kind: 'chat', body: { model: 'm', messages: BASE_MESSAGES, ...body } });
/** 2 content bytes + 8 framing for the message + 8 for the request. */
const BASE_PROMPT = 18;

/** Prices in micro-dollars per token (stored as pico-dollars). */
function deployment(input: number, output: number, extra: Partial<Deployment> = {}): Deployment {
  return {
    id: 'd', modelName: 'm', provider: 'openai', upstreamModel: 'm', apiBase: 'https://api.openai.com/v1', headers: {}, defaultParams: {}, modelInfo: {},
    prices: { inputPerToken: input * 1_000_000, outputPerToken: output * 1_000_000 }, available: true, ...extra,
  };
}

describe('the prompt bound counts everything the provider bills', () => {
  it('a plain message: content bytes plus framing', () => {
    expect(promptTokenBound(chat({}))).toBe(BASE_PROMPT);
  });

  it('control fields (sampling, streaming, accounting) add nothing', () => {
    const controls = { stream: true, stream_options: { include_usage: true }, max_tokens: 5, temperature: 0.2, top_p: 1, n: 2, seed: 4, user: 'u', metadata: { a: 'b' }, stop: ['x'], logit_bias: { 1: 2 } };
    expect(promptTokenBound(chat(controls))).toBe(BASE_PROMPT);
  });

  it.each([
    ['functions', [{ name: 'f', description: 'x'.repeat(1000), parameters: { type: 'object' } }]],
    ['tools', [{ type: 'function', function: { name: 'f', description: 'y'.repeat(1000) } }]],
    ['function_call', { name: 'f' }],
    ['tool_choice', { type: 'function', function: { name: 'f' } }],
    ['response_format', { type: 'json_schema', json_schema: { name: 's', schema: { description: 'z'.repeat(500) } } }],
    ['a field no list knows', { anything: 'w'.repeat(700) }],
  ])('%s: its serialized size', (field, value) => {
    const name = field === 'a field no list knows' ? 'future_input' : field;
    expect(promptTokenBound(chat({ [name]: value }))).toBe(BASE_PROMPT + Buffer.byteLength(JSON.stringify(value)));
  });

  it('message names, tool calls, legacy function calls and tool call ids in the history', () => {
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: 'a'.repeat(2000) }) } }];
    const functionCall = { name: 'legacy', arguments: 'b'.repeat(1500) };
    const messages = [
      { role: 'user', content: 'hi', name: 'n'.repeat(300) },
      { role: 'assistant', content: null, tool_calls: toolCalls },
      { role: 'tool', content: 'ok', tool_call_id: 'call_1' },
      { role: 'assistant', content: null, function_call: functionCall },
    ];
    const expected = 8 + (2 + 8 + 300) + (8 + Buffer.byteLength(JSON.stringify(toolCalls))) + (2 + 8 + 'call_1'.length) + (8 + Buffer.byteLength(JSON.stringify(functionCall)));
    expect(promptTokenBound({ kind: 'chat', body: { model: 'm', messages } })).toBe(expected);
  });

  it('images count a fixed allowance; documents at least that, and their size when larger', () => {
    const image = { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } }] };
    expect(promptTokenBound({ kind: 'chat', body: { messages: [image] } })).toBe(8 + 8 + 3_000);
    const file = { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${'B'.repeat(50_000)}` } };
    expect(promptTokenBound({ kind: 'chat', body: { messages: [{ role: 'user', content: [file] }] } })).toBe(8 + 8 + Buffer.byteLength(JSON.stringify(file)));
  });

  it('legacy completions and embeddings: the prompt or input, a separator, and any other non-control field', () => {
    expect(promptTokenBound({ kind: 'completion', body: { model: 'm', prompt: 'hello', max_tokens: 3, best_of: 3 } })).toBe(6);
    expect(promptTokenBound({ kind: 'completion', body: { model: 'm', prompt: 'hello', suffix: 'world' } })).toBe(11);
    expect(promptTokenBound({ kind: 'embeddings', body: { model: 'm', input: ['ab', 'cd'], dimensions: 3, encoding_format: 'float' } })).toBe(Buffer.byteLength('["ab","cd"]') + 1);
  });
});

describe('the output bound', () => {
  it('a predicted output counts as completion tokens', () => {
    expect(predictionTokenBound({ prediction: { type: 'content', content: 'p'.repeat(400) } })).toBe(400);
    expect(predictionTokenBound({ prediction: { type: 'content', content: [{ type: 'text', text: 'q'.repeat(30) }] } })).toBe(30);
    expect(predictionTokenBound({})).toBe(0);
    // The prediction is not counted as prompt input a second time.
    expect(promptTokenBound(chat({ prediction: { type: 'content', content: 'p'.repeat(400) } }))).toBe(BASE_PROMPT);
  });

  it('n and best_of multiply the generated output, whichever is larger', () => {
    expect(generatedChoices({})).toBe(1);
    expect(generatedChoices({ n: 3 })).toBe(3);
    expect(generatedChoices({ n: 2, best_of: 5 })).toBe(5);
  });

  it('a completions prompt array: every prompt gets its own n (or best_of) completions, as OpenAI generates and bills them', () => {
    const prompts = Array.from({ length: 50 }, (_, index) => `Say hi ${index}`);
    expect(promptCount({ prompt: 'Say hi' })).toBe(1);
    expect(promptCount({ prompt: prompts })).toBe(50);
    // An array of token ids is one prompt; an array of token arrays one per array.
    expect(promptCount({ prompt: [1, 2, 3] })).toBe(1);
    expect(promptCount({ prompt: [[1, 2], [3], [4, 5, 6]] })).toBe(3);
    expect(generatedChoices({ prompt: prompts })).toBe(50);
    expect(generatedChoices({ prompt: prompts, n: 2, best_of: 3 })).toBe(150);
    expect(generatedChoices({ prompt: 'Say hi', best_of: 20 })).toBe(20);
    // best_of below n (OpenAI refuses it) never lowers the count; a numeric string counts as some servers read it.
    expect(generatedChoices({ prompt: 'x', n: 4, best_of: 2 })).toBe(4);
    expect(generatedChoices({ prompt: 'x', best_of: '20' })).toBe(20);
    // The relay (/openai/v1/completions) carries the client's prompt in `native`, n / best_of folded into `n`.
    expect(generatedChoices({ model: 'm', native: { model: 'm', prompt: prompts, best_of: 2 }, n: 2 })).toBe(100);
    // An image call's prompt is one description, whatever its form fields hold.
    expect(generatedChoices({ model: 'm', native: { prompt: ['a', 'b'] }, units: { images: 1 }, max_tokens: 6240 })).toBe(1);
  });

  it('reserves and bounds the output of every prompt of a prompt array and every best_of completion', () => {
    const prompts = Array.from({ length: 50 }, (_, index) => `Say hi ${index}`);
    const many: CostInput = { kind: 'completion', body: { model: 'm', prompt: prompts, max_tokens: 100 } };
    const prompt = promptTokenBound(many);
    // Every prompt's bytes are in the prompt bound.
    expect(prompt).toBeGreaterThanOrEqual(prompts.reduce((sum, text) => sum + Buffer.byteLength(text), 0));
    expect(maxCostMicros(many, [deployment(1, 2)])).toBe(prompt + 2 * 100 * 50);
    expect(billableOutputLimit(many, deployment(1, 2))).toBe(5000);
    const bestOf: CostInput = { kind: 'completion', body: { model: 'm', prompt: 'Say hi', max_tokens: 100, best_of: 20 } };
    expect(billableOutputLimit(bestOf, deployment(1, 2))).toBe(2000);
    const tokenArrays: CostInput = { kind: 'completion', body: { model: 'm', prompt: [[1, 2], [3, 4]], max_tokens: 10, n: 3 } };
    expect(billableOutputLimit(tokenArrays, deployment(1, 2))).toBe(60);
    const relayed: CostInput = { kind: 'completion', relayed: true, body: { model: 'm', native: { model: 'm', prompt: prompts, max_tokens: 100 }, max_tokens: 100 } };
    expect(billableOutputLimit(relayed, deployment(1, 2))).toBe(5000);
    expect(maxCostMicros(relayed, [deployment(1, 2)])).toBe(promptTokenBound(relayed) + 2 * 5000);
  });

  it('prices prompt at the dearest input rate and output × choices at the output rate, over every candidate', () => {
    // 1 µ$ and 2 µ$ per token; the second deployment is dearer.
    const cheap = deployment(1, 2);
    const dear = deployment(10, 20);
    const input: CostInput = { kind: 'completion', body: { model: 'm', prompt: 'hello', max_tokens: 10, best_of: 4, prediction: { type: 'content', content: 'abcde' } } };
    // prompt 6 tokens; output (10 + 5) × 4 = 60 tokens.
    expect(maxCostMicros(input, [cheap])).toBe(6 * 1 + 60 * 2);
    expect(maxCostMicros(input, [cheap, dear])).toBe(6 * 10 + 60 * 20);
    expect(maxCostMicros(input, [deployment(0, 0, { prices: undefined })])).toBe(0);
  });

  it('without max_tokens: the deployment default, else the model limit', () => {
    const withDefault = deployment(1, 2, { defaultParams: { max_tokens: 100 } });
    expect(maxCostMicros(chat({}), [withDefault])).toBe(BASE_PROMPT + 200);
    const withLimit = deployment(1, 2, { modelInfo: { max_output_tokens: 50 } });
    expect(maxCostMicros(chat({}), [withLimit])).toBe(BASE_PROMPT + 100);
  });

  it('a relayed (provider-native) call reserves all the output settlement accepts: the window when it names no limit, plus thinking', () => {
    const relayed = (body: Record<string, unknown>): CostInput => ({ kind: 'completion', relayed: true, body: { model: 'm', ...body } });
    const plain = deployment(1, 2);
    // 1 separator token of prompt bound (a relayed body carries no prompt in these examples).
    expect(maxCostMicros(relayed({}), [plain])).toBe(1 + 2 * DEFAULT_OUTPUT_TOKEN_LIMIT);
    expect(maxCostMicros(relayed({ max_tokens: 100 }), [plain])).toBe(1 + 200);
    const thinkingBytes = 2; // "{}" is read as part of the request
    expect(maxCostMicros(relayed({ max_tokens: 100, thinking: {} }), [plain])).toBe(1 + thinkingBytes + 2 * (100 + REASONING_ALLOWANCE));
    expect(maxCostMicros(relayed({ max_tokens: 100, n: 3 }), [plain])).toBe(1 + 2 * 300);
    const windowed = deployment(1, 2, { modelInfo: { max_output_tokens: 8192 } });
    expect(maxCostMicros(relayed({}), [windowed])).toBe(1 + 2 * 8192);
    // The same request through the gateway's own formats keeps its smaller default (the gateway caps that output itself).
    expect(maxCostMicros({ kind: 'completion', body: { model: 'm' } }, [plain])).toBe(1 + 2 * 4096);
  });
});

describe('input the provider keeps itself is held at the model\'s input window', () => {
  const windowed = deployment(1, 2, { modelInfo: { max_input_tokens: 50_000 } });
  const relayed = (body: Record<string, unknown>): CostInput => ({ kind: 'completion', relayed: true, body: { native: body } });

  it.each([
    ['a Response\'s previous_response_id', relayed({ input: 'go on', previous_response_id: 'resp_1', max_output_tokens: 10 })],
    ['a Conversation by id', relayed({ input: 'go on', conversation: { id: 'conv_1' }, max_output_tokens: 10 })],
    ['a file by id in chat', chat({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] })],
    ['an Anthropic document by URL', relayed({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/report.pdf' } }] }] })],
    ['a Gemini context cache', relayed({ contents: [{ parts: [{ text: 'and then?' }] }], cachedContent: 'cachedContents/abc', generationConfig: { maxOutputTokens: 10 } })],
    ['a Gemini file by URI', relayed({ contents: [{ parts: [{ fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/a', mimeType: 'video/mp4' } }] }], generationConfig: { maxOutputTokens: 10 } })],
  ])('%s', (_name, input) => {
    expect(promptReadBound(input, windowed)).toBe(50_000);
    expect(maxCostMicros(input, [windowed])).toBeGreaterThanOrEqual(50_000);
    // Without max_input_tokens: the largest current windows.
    expect(promptReadBound(input, deployment(1, 2))).toBe(DEFAULT_INPUT_WINDOW);
  });

  it('a tool whose schema has a file_id parameter, a file sent inline, or an image by URL names no stored input', () => {
    const image = relayed({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }] });
    expect(promptReadBound(image, windowed)).toBe(promptTokenBound(image));
    const tool = chat({ max_tokens: 10, tools: [{ type: 'function', function: { name: 'open', parameters: { type: 'object', properties: { file_id: { type: 'string' }, conversation: { type: 'object' } } } } }] });
    expect(promptReadBound(tool, windowed)).toBe(promptTokenBound(tool));
    const inline = chat({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' } }] }] });
    expect(promptReadBound(inline, windowed)).toBe(promptTokenBound(inline));
  });
});

describe("a provider's tool prompt, billed as input and absent from the body, is held and accepted", () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
  const withTools = chat({ max_tokens: 10, tools: [weather] });
  const claude = (upstreamModel: string, extra: Partial<Deployment> = {}) => deployment(1, 2, { provider: 'anthropic', upstreamModel, ...extra });
  const relayed = (body: Record<string, unknown>): CostInput => ({ kind: 'completion', relayed: true, body: { model: 'claude', native: { model: 'claude', max_tokens: 10, messages: BASE_MESSAGES, ...body } } });

  // Anthropic, "Tool use with Claude" → pricing: the larger of the auto/none and any/tool figures of each family.
  it.each([
    ['claude-sonnet-4-20250514', 346],
    ['claude-opus-4-20250514', 346],
    ['claude-3-7-sonnet-latest', 346],
    ['claude-3-5-sonnet-20241022', 346],
    ['claude-3-opus-20240229', 530],
    ['claude-3-sonnet-20240229', 235],
    ['claude-3-haiku-20240307', 340],
    ['a Claude model the table does not name', 530],
  ])('%s: %i tokens', (model, tokens) => {
    const target = claude(model === 'a Claude model the table does not name' ? 'claude-next' : model);
    expect(toolPromptTokens(withTools, target)).toBe(tokens);
    expect(promptReadBound(withTools, target)).toBe(promptTokenBound(withTools) + tokens);
    expect(maxCostMicros(withTools, [target])).toBe((promptTokenBound(withTools) + tokens) * 1 + 10 * 2);
  });

  it('Claude on Bedrock (Converse) and Vertex carries the same prompt; base_model names the family', () => {
    expect(toolPromptTokens(withTools, deployment(1, 2, { provider: 'bedrock', upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0' }))).toBe(346);
    expect(toolPromptTokens(withTools, deployment(1, 2, { provider: 'vertex_ai', upstreamModel: 'claude-3-haiku@20240307' }))).toBe(340);
    expect(toolPromptTokens(withTools, deployment(1, 2, { provider: 'openai', upstreamModel: 'my-claude', modelInfo: { base_model: 'claude-3-opus-20240229' } }))).toBe(530);
  });

  it('a response_format is a tool on Claude (the forced answer tool)', () => {
    expect(toolPromptTokens(chat({ response_format: { type: 'json_object' } }), claude('claude-sonnet-4-20250514'))).toBe(346);
    expect(toolPromptTokens(chat({ response_format: { type: 'text' } }), claude('claude-sonnet-4-20250514'))).toBe(0);
  });

  it("a relayed Messages body: the tool prompt plus each Anthropic-defined tool's own definition", () => {
    const target = claude('claude-sonnet-4-20250514');
    expect(toolPromptTokens(relayed({ tools: [{ name: 'f', input_schema: { type: 'object' } }] }), target)).toBe(346);
    const defined = relayed({ tools: [{ type: 'bash_20250124', name: 'bash' }, { type: 'text_editor_20250429', name: 'str_replace_based_edit_tool' }, { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }] });
    expect(toolPromptTokens(defined, target)).toBe(346 + 245 + 700 + 735 + 499);
    expect(promptReadBound(defined, target)).toBe(promptTokenBound(defined) + 346 + 245 + 700 + 735 + 499);
  });

  it('the usage bounds accept what the reservation holds: an honest report with the tool prompt is never clamped', () => {
    const target = claude('claude-sonnet-4-20250514');
    const defined = relayed({ tools: [{ type: 'bash_20250124', name: 'bash' }, { type: 'text_editor_20250429', name: 'str_replace_based_edit_tool' }] });
    // Worst honest count: a token per byte of the body, plus what Anthropic adds.
    expect(usageLimits(defined, target).promptTokens).toBeGreaterThanOrEqual(promptTokenBound(defined) + 346 + 245 + 700);
    expect(usageLimits(withTools, target).promptTokens).toBeGreaterThanOrEqual(promptReadBound(withTools, target));
  });

  it('nothing is added without tools, nor on providers that count tool definitions from the body', () => {
    expect(toolPromptTokens(chat({ max_tokens: 10 }), claude('claude-sonnet-4-20250514'))).toBe(0);
    expect(toolPromptTokens(chat({ max_tokens: 10, tools: [] }), claude('claude-sonnet-4-20250514'))).toBe(0);
    expect(toolPromptTokens(relayed({}), claude('claude-sonnet-4-20250514'))).toBe(0);
    expect(toolPromptTokens(withTools, deployment(1, 2, { provider: 'openai', upstreamModel: 'gpt-4o' }))).toBe(0);
    expect(toolPromptTokens(withTools, deployment(1, 2, { provider: 'gemini', upstreamModel: 'gemini-2.5-flash' }))).toBe(0);
    expect(promptReadBound(withTools, deployment(1, 2))).toBe(promptTokenBound(withTools));
  });
});

describe('inline PDFs: pages read from the bytes, within bounded work', () => {
  const pdfFile = (pdf: Buffer): CostInput => chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: `data:application/pdf;base64,${pdf.toString('base64')}` } }] }] });

  it('a body of deflate bombs in object streams stops inflating at the per-request limit and is held at the most pages a provider reads', () => {
    // 200 streams of 16 MB of zeros each (16 KB compressed): inflated whole, 3.2 GB on the request path.
    const bomb = deflateSync(Buffer.alloc(16 * 1024 * 1024));
    const parts = [Buffer.from('%PDF-1.7\n')];
    for (let index = 0; index < 200; index++) parts.push(Buffer.from(`${index + 1} 0 obj<</Type/ObjStm>>stream\n`), bomb, Buffer.from('\nendstream\n'));
    const input = pdfFile(Buffer.concat(parts));
    expect(promptTokenBound(input)).toBeGreaterThanOrEqual(1_000 * 3_000);
  });

  it('a run of comment marks after /Type is scanned in linear time (no exponential backtracking between comments)', () => {
    const input = pdfFile(Buffer.from(`%PDF-1.7\n1 0 obj<</Type ${'%'.repeat(50_000)}X\n>>endobj\n`));
    expect(promptTokenBound(input)).toBeLessThan(200_000);
  });
});
