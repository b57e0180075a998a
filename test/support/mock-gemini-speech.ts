/**
 * Gemini's speech generation (`gemini-2.5-flash-preview-tts`: generateContent with
 * `responseModalities: ["AUDIO"]`), as Google's "Speech generation" docs describe it: a TTS model
 * refuses a request without AUDIO output, a text model refuses AUDIO output, the voice must be one
 * of the prebuilt voices; the answer is one inlineData part of `audio/L16;codec=pcm;rate=24000`
 * (16-bit little-endian mono PCM), 0.2 s of a tone per word of the text, with usageMetadata counting
 * TEXT tokens in and AUDIO tokens out (25 per second of audio).
 */
type Json = Record<string, unknown>;

const VOICES = new Set(['Zephyr', 'Puck', 'Charon', 'Kore', 'Fenrir', 'Leda', 'Orus', 'Aoede', 'Callirrhoe', 'Autonoe', 'Enceladus', 'Iapetus', 'Umbriel', 'Algieba', 'Despina', 'Erinome', 'Algenib', 'Rasalgethi', 'Laomedeia', 'Achernar', 'Alnilam', 'Schedar', 'Gacrux', 'Pulcherrima', 'Achird', 'Zubenelgenubi', 'Vindemiatrix', 'Sadachbia', 'Sadaltager', 'Sulafat']);
export const SPEECH_RATE = 24_000;
export const SPEECH_SECONDS_PER_WORD = 0.2;
export const AUDIO_TOKENS_PER_SECOND = 25;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): { status: number; body: unknown } {
  return { status: 400, body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } } };
}

/** The samples the mock speaks for `text`: a 220 Hz tone, 0.2 s per word. */
export function speechSamples(text: string): Buffer {
  const words = text.split(/\s+/).filter(Boolean).length;
  const samples = Math.round(words * SPEECH_SECONDS_PER_WORD * SPEECH_RATE);
  const pcm = Buffer.alloc(samples * 2);
  for (let index = 0; index < samples; index++) pcm.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 220 * index) / SPEECH_RATE) * 8_000), index * 2);
  return pcm;
}

export function speechAnswer(request: Json, model: string): { status: number; body: unknown } {
  const config = isObject(request.generationConfig) ? request.generationConfig : {};
  const modalities = Array.isArray(config.responseModalities) ? config.responseModalities : [];
  if (!model.endsWith('-tts')) return invalid('Multi-modal output is not supported.');
  if (modalities.length !== 1 || modalities[0] !== 'AUDIO') return invalid('The requested combination of response modalities (TEXT) is not supported by the model. models/' + model + ' accepts the following combination of response modalities:\n* AUDIO\n');
  const speech = isObject(config.speechConfig) ? config.speechConfig : {};
  const voice = isObject(speech.voiceConfig) && isObject(speech.voiceConfig.prebuiltVoiceConfig) ? speech.voiceConfig.prebuiltVoiceConfig.voiceName : undefined;
  if (voice !== undefined && !VOICES.has(String(voice))) return invalid(`Voice name ${String(voice)} is not supported.`);
  const contents = Array.isArray(request.contents) ? (request.contents as Json[]) : [];
  const text = contents.flatMap((content) => (Array.isArray(content.parts) ? (content.parts as Json[]) : [])).map((part) => (typeof part.text === 'string' ? part.text : '')).join(' ');
  const pcm = speechSamples(text);
  const promptTokens = Math.max(1, text.split(/\s+/).filter(Boolean).length);
  const audioTokens = Math.round((pcm.length / 2 / SPEECH_RATE) * AUDIO_TOKENS_PER_SECOND);
  const max = typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : undefined;
  return {
    status: 200,
    body: {
      candidates: [{ content: { parts: [{ inlineData: { mimeType: `audio/L16;codec=pcm;rate=${SPEECH_RATE}`, data: pcm.toString('base64') } }], role: 'model' }, finishReason: max !== undefined && audioTokens > max ? 'MAX_TOKENS' : 'STOP' }],
      usageMetadata: {
        promptTokenCount: promptTokens,
        candidatesTokenCount: audioTokens,
        totalTokenCount: promptTokens + audioTokens,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
        candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: audioTokens }],
      },
      modelVersion: model,
      responseId: 'mock-speech',
    },
  };
}
