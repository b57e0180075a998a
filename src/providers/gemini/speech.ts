/**
 * OpenAI's `/v1/audio/speech` ↔ Gemini's text-to-speech models (`gemini-2.5-flash-preview-tts`,
 * `gemini-2.5-pro-preview-tts`) through generateContent: the input as the one user turn,
 * `generationConfig.responseModalities: ["AUDIO"]` and the voice in
 * `speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName`. The answer carries the audio inline
 * (`candidates[0].content.parts[].inlineData`, `audio/L16;codec=pcm;rate=24000`: 16-bit
 * little-endian mono PCM): served as `pcm` (OpenAI's pcm is the same 24 kHz 16-bit mono) or as
 * `wav` (a RIFF header before the samples). Other formats would need an encoder and are refused.
 * Billed by tokens (usageMetadata: text in, audio out).
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { Usage } from '../types.js';
import { usageFromGemini } from './response.js';
import type { GeminiUsageMetadata } from './wire.js';

type Json = Record<string, unknown>;

/** Gemini's text-to-speech models, by upstream model name. */
export function isGeminiSpeechModel(model: string): boolean {
  return /^(models\/)?gemini-[\w.-]*-tts$/i.test(model);
}

/** The prebuilt voices of Gemini's speech generation (Google's "Voice options"). */
export const GEMINI_VOICES = [
  'Zephyr', 'Puck', 'Charon', 'Kore', 'Fenrir', 'Leda', 'Orus', 'Aoede', 'Callirrhoe', 'Autonoe', 'Enceladus', 'Iapetus', 'Umbriel', 'Algieba', 'Despina',
  'Erinome', 'Algenib', 'Rasalgethi', 'Laomedeia', 'Achernar', 'Alnilam', 'Schedar', 'Gacrux', 'Pulcherrima', 'Achird', 'Zubenelgenubi', 'Vindemiatrix', 'Sadachbia', 'Sadaltager', 'Sulafat',
];
const VOICES = new Map(GEMINI_VOICES.map((voice) => [voice.toLowerCase(), voice]));

/** The most output tokens the Gemini TTS models produce (their output limit): the call's cap and reservation. */
export const GEMINI_SPEECH_MAX_OUTPUT_TOKENS = 16_384;

export type SpeechFormat = 'wav' | 'pcm';

/** The highest sample rate of real audio formats (768 kHz): a rate above it in an answer is a broken one. */
const MAX_SAMPLE_RATE = 768_000;

function refuse(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** The audio format asked for; refuses the ones Gemini's PCM cannot be served as without an encoder. */
export function speechFormatOf(body: Json, label: string): SpeechFormat {
  const format = body.response_format;
  if (format === 'wav' || format === 'pcm') return format;
  const asked = format === undefined ? 'none (OpenAI\'s default is mp3)' : JSON.stringify(format);
  throw refuse('response_format', `"response_format": ${asked} is not served on ${label}: Gemini speaks 24 kHz 16-bit PCM, served as "wav" or "pcm"; ask for one of them`);
}

/** The generateContent body for an OpenAI speech request; refuses what has no Gemini equivalent, by name. */
export function geminiSpeechBody(body: Json, label: string, maxTokens: number | undefined): Json {
  let voiceName: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'model':
      case 'input':
      case 'user':
      case 'response_format':
      case 'stream_format':
        break;
      case 'voice': {
        const name = typeof value === 'string' ? value : isJsonObject(value) && typeof value.id === 'string' ? value.id : undefined;
        voiceName = name === undefined ? undefined : VOICES.get(name.toLowerCase());
        if (!voiceName) throw refuse('voice', `"voice": ${JSON.stringify(value)} is not a Gemini voice on ${label}; use one of ${GEMINI_VOICES.join(', ')}`);
        break;
      }
      case 'speed':
        if (value !== 1) throw refuse('speed', `"speed" is not supported on ${label} (Gemini): only 1`);
        break;
      default:
        throw refuse(key, `"${key}" is not supported on ${label} (Gemini speech)`);
    }
  }
  speechFormatOf(body, label);
  return {
    contents: [{ role: 'user', parts: [{ text: body.input }] }],
    generationConfig: {
      responseModalities: ['AUDIO'],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName } } },
      ...(maxTokens !== undefined ? { maxOutputTokens: maxTokens } : {}),
    },
  };
}

/** A 44-byte RIFF/WAVE header for `dataBytes` of 16-bit mono PCM at `rate`. */
export function wavHeader(dataBytes: number, rate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

export interface SpeechAudio {
  chunks: Buffer[];
  contentType: string;
  usage: Usage | undefined;
}

/** The audio of a generateContent answer in the format asked for, with the tokens it billed. */
export function geminiSpeechAudio(body: unknown, format: SpeechFormat, provider: string): SpeechAudio {
  const usage = isJsonObject(body) ? usageFromGemini(body.usageMetadata as GeminiUsageMetadata | undefined) : undefined;
  const candidate = isJsonObject(body) && Array.isArray(body.candidates) && isJsonObject(body.candidates[0]) ? body.candidates[0] : undefined;
  const parts = isJsonObject(candidate?.content) && Array.isArray(candidate.content.parts) ? (candidate.content.parts as unknown[]).filter(isJsonObject) : [];
  const pcm: Buffer[] = [];
  let rate: number | undefined;
  for (const part of parts) {
    const blob = isJsonObject(part.inlineData) ? part.inlineData : undefined;
    if (!blob || typeof blob.data !== 'string' || typeof blob.mimeType !== 'string') continue;
    const match = /^audio\/L16\b.*?\brate=(\d+)/i.exec(blob.mimeType);
    if (!match) throw new GatewayError('upstream_invalid_response', `${provider} returned audio as ${blob.mimeType}, not 16-bit PCM (audio/L16)`, { provider });
    const partRate = Number(match[1]);
    // The rate goes into the WAV header (a 32-bit field, twice over as the byte rate): one no audio has is refused, not written.
    if (partRate < 1 || partRate > MAX_SAMPLE_RATE) throw new GatewayError('upstream_invalid_response', `${provider} returned audio at ${match[1].slice(0, 16)} Hz`, { provider });
    if (rate !== undefined && partRate !== rate) throw new GatewayError('upstream_invalid_response', `${provider} returned audio parts at different rates`, { provider });
    rate = partRate;
    pcm.push(Buffer.from(blob.data, 'base64'));
  }
  if (rate === undefined) {
    // A blocked prompt or a stopped answer is the request's (not retried); anything else a broken answer.
    const blocked = isJsonObject(body) && isJsonObject(body.promptFeedback) ? String(body.promptFeedback.blockReason) : undefined;
    const finish = typeof candidate?.finishReason === 'string' ? candidate.finishReason : undefined;
    if (blocked || (finish && finish !== 'STOP')) throw new GatewayError('invalid_request', `${provider} returned no audio: ${blocked ? `the prompt was blocked (${blocked})` : `finishReason ${finish}`}`, { provider, param: 'input' });
    throw new GatewayError('upstream_invalid_response', `${provider} returned no audio`, { provider });
  }
  const bytes = pcm.reduce((sum, chunk) => sum + chunk.length, 0);
  if (format === 'pcm') return { chunks: pcm, contentType: 'audio/pcm', usage };
  return { chunks: [wavHeader(bytes, rate), ...pcm], contentType: 'audio/wav', usage };
}
