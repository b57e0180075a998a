/**
 * Every way a request can make the gateway call a model, as one table shared by the invariants
 * that hold each way in to a rule: item 101 (model restrictions: no restricted caller reaches a
 * premium model) and item 192 (every way in counts toward a key's, user's and team's limits).
 * `surfaceModelsConfig` is the `model_list`, router settings and agent the table's requests name:
 * the premium models answer from the given upstreams, the cheap ones are unreachable (DEAD), so a
 * configured fallback or an automatic choice has to move to a premium model to answer at all.
 */

/** Nothing listens here: a cheap model's call fails at once (connection refused). */
export const DEAD = 'http://127.0.0.1:9';
export const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';

export interface Surface {
  name: string;
  path: string;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...extra });
export const gemini = (model: string, method: string) => `/gemini/v1beta/models/${encodeURIComponent(model)}:${method}`;
export const contents = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 10 } };

/** A surface that uploads multipart/form-data (built afresh for each call) instead of a JSON body. */
export type Way = Surface & { form?: () => FormData };

/** One second of silent mono 16-bit PCM WAV at 16 kHz. */
export function wav(): Blob {
  const bytes = 32_000;
  const file = Buffer.alloc(44 + bytes, 0);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(36 + bytes, 4);
  file.write('WAVEfmt ', 8, 'ascii');
  file.writeUInt32LE(16, 16);
  file.writeUInt16LE(1, 20);
  file.writeUInt16LE(1, 22);
  file.writeUInt32LE(16_000, 24);
  file.writeUInt32LE(32_000, 28);
  file.writeUInt16LE(2, 32);
  file.writeUInt16LE(16, 34);
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(bytes, 40);
  return new Blob([file], { type: 'audio/wav' });
}

/** A multipart form of `fields` (a file as [blob, name]), built afresh for each call. */
export function form(fields: Record<string, string | [Blob, string]>): () => FormData {
  return () => {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value === 'string') data.append(name, value);
      else data.append(name, value[0], value[1]);
    }
    return data;
  };
}

/**
 * The ways in beyond SURFACES that the money invariants (items 192 and 268) share: a Gemini batch
 * embedding and the two uploads, on models each test configures as `premium-whisper` (a
 * transcription model) and `premium-edits` (an image editor).
 */
export const UPLOAD_SURFACES: Way[] = [
  { name: 'gemini batchEmbedContents', path: gemini('gemini-premium', 'batchEmbedContents'), body: { requests: [{ model: 'models/gemini-premium', content: { parts: [{ text: 'hi' }] } }] } },
  { name: 'audio transcriptions', path: '/v1/audio/transcriptions', body: {}, form: form({ model: 'premium-whisper', file: [wav(), 'tone.wav'] }) },
  { name: 'image edits', path: '/v1/images/edits', body: {}, form: form({ model: 'premium-edits', prompt: 'a hat', n: '1', size: '256x256', image: [new Blob([Buffer.from('png')], { type: 'image/png' }), 'cat.png'] }) },
];

/** Every way in to a premium model (the models of `surfaceModelsConfig`). */
export const SURFACES: Surface[] = [
  { name: 'chat', path: '/v1/chat/completions', body: chat('premium') },
  { name: 'chat stream', path: '/v1/chat/completions', body: chat('premium', { stream: true }) },
  { name: 'chat through model_group_alias', path: '/v1/chat/completions', body: chat('smart') },
  { name: 'chat mock_response', path: '/v1/chat/completions', body: chat('premium', { mock_response: 'mocked' }) },
  { name: 'completions', path: '/v1/completions', body: { model: 'premium', prompt: 'hi', max_tokens: 10 } },
  { name: 'embeddings', path: '/v1/embeddings', body: { model: 'premium', input: 'hi' } },
  { name: 'responses', path: '/v1/responses', body: { model: 'premium', input: 'hi', max_output_tokens: 16 } },
  { name: 'responses with a built-in tool (relayed)', path: '/v1/responses', body: { model: 'premium', input: 'hi', max_output_tokens: 16, tools: [{ type: 'web_search' }] } },
  { name: 'messages (OpenAI group)', path: '/v1/messages', body: chat('premium') },
  { name: 'messages (Anthropic group)', path: '/v1/messages', body: chat('claude-premium') },
  { name: 'anthropic native', path: '/anthropic/v1/messages', body: chat('claude-premium') },
  { name: 'anthropic native count_tokens', path: '/anthropic/v1/messages/count_tokens', body: { model: 'claude-premium', messages: [{ role: 'user', content: 'hi' }] } },
  { name: 'gemini generateContent', path: gemini('gemini-premium', 'generateContent'), body: contents },
  { name: 'gemini streamGenerateContent', path: `${gemini('gemini-premium', 'streamGenerateContent')}?alt=sse`, body: contents },
  { name: 'gemini countTokens', path: gemini('gemini-premium', 'countTokens'), body: { contents: contents.contents } },
  { name: 'gemini embedContent', path: gemini('gemini-premium', 'embedContent'), body: { content: { parts: [{ text: 'hi' }] } } },
  { name: 'gemini URL cheap, body model premium', path: gemini('gemini-cheap', 'embedContent'), body: { model: 'models/gemini-premium', content: { parts: [{ text: 'hi' }] } } },
  { name: 'pass-through chat', path: '/openai/v1/chat/completions', body: chat('premium') },
  { name: 'pass-through embeddings', path: '/openai/v1/embeddings', body: { model: 'premium', input: 'hi' } },
  { name: 'pass-through responses', path: '/openai/v1/responses', body: { model: 'premium', input: 'hi', max_output_tokens: 16 } },
  { name: 'pass-through images', path: '/openai/v1/images/generations', body: { model: 'premium-media', prompt: 'a cat', n: 1 } },
  { name: 'pass-through moderations', path: '/openai/v1/moderations', body: { model: 'premium-media', input: 'hi' } },
  { name: 'images', path: '/v1/images/generations', body: { model: 'premium-media', prompt: 'a cat', n: 1 } },
  { name: 'moderations', path: '/v1/moderations', body: { model: 'premium-media', input: 'hi' } },
  { name: 'rerank', path: '/v1/rerank', body: { model: 'premium-media', query: 'q', documents: ['a', 'b'] } },
  { name: 'audio speech', path: '/v1/audio/speech', body: { model: 'premium-media', input: 'hi', voice: 'alloy' } },
  { name: 'request fallbacks', path: '/v1/chat/completions', body: chat('cheap', { fallbacks: ['premium'] }) },
  { name: 'request fallbacks as objects', path: '/v1/chat/completions', body: chat('cheap', { fallbacks: [{ model: 'premium' }] }) },
  { name: 'request fallbacks through an alias', path: '/v1/chat/completions', body: chat('cheap', { fallbacks: ['smart'] }) },
  { name: 'embeddings request fallbacks', path: '/v1/embeddings', body: { model: 'cheap', input: 'hi', fallbacks: ['premium'] } },
  { name: 'configured fallbacks (chat)', path: '/v1/chat/completions', body: chat('cheap') },
  { name: 'configured fallbacks (anthropic native)', path: '/anthropic/v1/messages', body: chat('claude-cheap') },
  { name: 'configured fallbacks (gemini native)', path: gemini('gemini-cheap', 'generateContent'), body: contents },
  ...['eco', 'balanced', 'precision'].map((level) => ({ name: `auto at ${level}`, path: '/v1/chat/completions', body: chat('auto', { power_level: level }) })),
  { name: 'auto with X-Power-Level', path: '/v1/chat/completions', body: chat('auto'), headers: { 'x-power-level': 'precision' } },
  { name: 'agent through chat', path: '/v1/chat/completions', body: chat('agent/premium-agent') },
  { name: 'agent run', path: '/agents/premium-agent/run', body: { input_data: { text: 'hi' } } },
];

/** The upstreams the premium models of `surfaceModelsConfig` are served by. */
export interface SurfaceUpstreams {
  /** OpenAI's wire format: chat, completions, embeddings, responses. */
  openai: string;
  anthropic: string;
  gemini: string;
  /** Images, moderations, rerank and speech, in their wire formats. */
  media: string;
}

/**
 * The `model_list`, `router_settings` and `agents` sections the SURFACES name (YAML, ending in a
 * newline); `moreModels`: further `model_list` entries (YAML list items, indented by two spaces).
 */
export function surfaceModelsConfig(upstreams: SurfaceUpstreams, moreModels = ''): string {
  return `model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${DEAD}", api_key: sk-upstream}
    model_info: {id: dep-cheap, ${PRICES}, quality_score: 40}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${upstreams.openai}", api_key: sk-upstream}
    model_info: {id: dep-premium, ${PRICES}, quality_score: 95}
  - model_name: premium-media
    litellm_params: {model: openai/dall-e-3, api_base: "${upstreams.media}", api_key: sk-upstream}
    model_info: {id: dep-premium-media, mode: image_generation, ${PRICES}, output_cost_per_image: 0.04, input_cost_per_character: 0.000015, input_cost_per_query: 0.002}
  - model_name: claude-cheap
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${DEAD}", api_key: sk-ant}
    model_info: {id: dep-claude-cheap, ${PRICES}, quality_score: 40}
  - model_name: claude-premium
    litellm_params: {model: anthropic/claude-3-opus-20240229, api_base: "${upstreams.anthropic}", api_key: sk-ant}
    model_info: {id: dep-claude-premium, ${PRICES}, quality_score: 90}
  - model_name: gemini-cheap
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${DEAD}", api_key: g-key}
    model_info: {id: dep-gemini-cheap, ${PRICES}, quality_score: 40}
  - model_name: gemini-premium
    litellm_params: {model: gemini/gemini-1.5-pro, api_base: "${upstreams.gemini}", api_key: g-key}
    model_info: {id: dep-gemini-premium, ${PRICES}, quality_score: 90}
${moreModels}router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"cheap": ["premium"]}, {"claude-cheap": ["claude-premium"]}, {"gemini-cheap": ["gemini-premium"]}]
  model_group_alias: {"smart": "premium"}
agents:
  - name: premium-agent
    model: premium
`;
}
