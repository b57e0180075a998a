import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { geminiSpeechAudio, geminiSpeechBody, isGeminiSpeechModel, speechFormatOf, wavHeader } from './speech.js';

const LABEL = 'gemini deployment "tts"';

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

const pcm = Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]);
const answer = (parts: unknown[], finishReason = 'STOP') => ({
  candidates: [{ content: { role: 'model', parts }, finishReason }],
  usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 50, totalTokenCount: 54 },
});

describe('Gemini speech requests', () => {
  it('map input, voice (any case) and the output cap to generateContent with audio output', () => {
    expect(geminiSpeechBody({ model: 'tts', input: 'Hello', voice: 'charon', response_format: 'wav', speed: 1, user: 'u' }, LABEL, 100)).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hello' }] }],
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Charon' } } }, maxOutputTokens: 100 },
    });
    expect(geminiSpeechBody({ input: 'Hi', voice: { id: 'Zephyr' }, response_format: 'pcm' }, LABEL, undefined).generationConfig).toEqual({
      responseModalities: ['AUDIO'],
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Zephyr' } } },
    });
  });

  it('refuse by name what has no Gemini equivalent', () => {
    expect(refusal(() => geminiSpeechBody({ input: 'a', voice: 'nova', response_format: 'wav' }, LABEL, 1)).message).toContain('not a Gemini voice');
    expect(refusal(() => geminiSpeechBody({ input: 'a', voice: 'Kore', response_format: 'wav', speed: 1.5 }, LABEL, 1)).message).toContain('"speed"');
    expect(refusal(() => geminiSpeechBody({ input: 'a', voice: 'Kore', response_format: 'wav', instructions: 'calm' }, LABEL, 1)).message).toContain('"instructions" is not supported');
    expect(refusal(() => speechFormatOf({}, LABEL)).message).toContain("OpenAI's default is mp3");
    expect(refusal(() => speechFormatOf({ response_format: 'flac' }, LABEL)).message).toContain('"flac"');
  });

  it('know the TTS models', () => {
    expect(isGeminiSpeechModel('gemini-2.5-flash-preview-tts')).toBe(true);
    expect(isGeminiSpeechModel('models/gemini-2.5-pro-preview-tts')).toBe(true);
    expect(isGeminiSpeechModel('gemini-2.5-flash')).toBe(false);
  });
});

describe('Gemini speech answers', () => {
  it('become a WAV file (header + every inline PCM part) or the raw PCM, with the tokens billed', () => {
    const body = answer([{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: pcm.subarray(0, 4).toString('base64') } }, { inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: pcm.subarray(4).toString('base64') } }]);
    const wav = geminiSpeechAudio(body, 'wav', 'gemini');
    expect(wav.contentType).toBe('audio/wav');
    expect(Buffer.concat(wav.chunks)).toEqual(Buffer.concat([wavHeader(8, 24_000), pcm]));
    expect(wav.usage).toMatchObject({ promptTokens: 4, completionTokens: 50 });
    const raw = geminiSpeechAudio(body, 'pcm', 'gemini');
    expect(raw.contentType).toBe('audio/pcm');
    expect(Buffer.concat(raw.chunks)).toEqual(pcm);
  });

  it('writes a RIFF header Windows and browsers read: PCM, mono, 16-bit, the rate and sizes', () => {
    const header = wavHeader(96_000, 24_000);
    expect(header.toString('ascii', 0, 4)).toBe('RIFF');
    expect(header.readUInt32LE(4)).toBe(96_036);
    expect(header.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect([header.readUInt16LE(20), header.readUInt16LE(22), header.readUInt32LE(24), header.readUInt32LE(28), header.readUInt16LE(32), header.readUInt16LE(34)]).toEqual([1, 1, 24_000, 48_000, 2, 16]);
    expect(header.toString('ascii', 36, 40)).toBe('data');
    expect(header.readUInt32LE(40)).toBe(96_000);
  });

  it('without audio are refused: a blocked prompt or stopped answer as the request\'s, anything else as a broken answer', () => {
    expect(refusal(() => geminiSpeechAudio(answer([], 'PROHIBITED_CONTENT'), 'wav', 'gemini')).code).toBe('invalid_request');
    expect(refusal(() => geminiSpeechAudio({ promptFeedback: { blockReason: 'SAFETY' } }, 'wav', 'gemini')).message).toContain('blocked (SAFETY)');
    expect(refusal(() => geminiSpeechAudio(answer([{ text: 'no audio' }]), 'wav', 'gemini')).code).toBe('upstream_invalid_response');
    expect(refusal(() => geminiSpeechAudio(answer([{ inlineData: { mimeType: 'audio/mpeg', data: 'AAAA' } }]), 'wav', 'gemini')).message).toContain('not 16-bit PCM');
  });
});
