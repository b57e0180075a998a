/**
 * The OpenAI media endpoints on Google deployments where Google has a native equivalent, through
 * the Gemini API (API key) and Vertex AI (OAuth access token):
 * - `/v1/images/generations` on Imagen (`imagen-…`): mapped to Imagen's predict body and the answer
 *   back to OpenAI's images shape (gemini/imagen.ts); billed per image returned;
 * - `/v1/audio/speech` on Gemini's TTS models (`gemini-…-tts`): generateContent with audio output,
 *   its inline PCM served as WAV or PCM (gemini/speech.ts); billed by tokens.
 */
import { GatewayError } from '../../errors.js';
import { geminiSpeechAudio, geminiSpeechBody, isGeminiSpeechModel, speechFormatOf, type SpeechAudio } from '../gemini/speech.js';
import { imagenAnswer, imagenPredictBody, imagenUsage, isImagenModel } from '../gemini/imagen.js';
import { geminiHeaders, methodUrl } from '../gemini/request.js';
import { usageOfGeminiAnswer } from '../gemini/response.js';
import type { NativeCall } from '../native.js';
import type { Deployment, UpstreamRequest, Usage } from '../types.js';
import { vertexRequest } from '../vertex/request.js';
import { vertexMethodUrl, vertexPublisherModelUrl } from '../vertex/urls.js';

const GOOGLE_PROVIDERS = new Set(['gemini', 'vertex_ai', 'vertex_ai_beta']);

/** Whether `provider` is one of Google's (the OpenAI media endpoints are mapped there, not relayed). */
export function isGoogleProvider(provider: string): boolean {
  return GOOGLE_PROVIDERS.has(provider);
}

/** The media endpoints with a native Google equivalent. */
export function googleServesMethod(method: string | undefined): boolean {
  return method === 'images/generations' || method === 'audio/speech';
}

function labelOf(target: Deployment): string {
  return `${target.provider} deployment "${target.modelName}"`;
}

export function buildGoogleMediaRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  if (call.method === 'audio/speech') return speechRequest(call, target);
  if (!isImagenModel(target.upstreamModel)) {
    throw new GatewayError('invalid_request', `${labelOf(target)} (${target.upstreamModel}) is not an Imagen model: /v1/images/generations is served on Google by Imagen (imagen-3.0-generate-002, imagen-4.0-…)`, { param: 'model' });
  }
  const body = imagenPredictBody(call.body, labelOf(target), target.provider !== 'gemini');
  if (target.provider === 'gemini') {
    return { url: methodUrl(target, 'predict'), method: 'POST', headers: geminiHeaders(target), body: JSON.stringify(body), framing: 'json' };
  }
  return vertexRequest(target, vertexMethodUrl(target, 'google', 'predict'), body, 'json');
}

/** Imagen prices an image the same at every size (media-pricing.ts): no variant. */
function speechRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  if (!isGeminiSpeechModel(target.upstreamModel)) {
    throw new GatewayError('invalid_request', `${labelOf(target)} (${target.upstreamModel}) is not a Gemini speech model: /v1/audio/speech is served on Google by the text-to-speech models (gemini-2.5-flash-preview-tts, gemini-2.5-pro-preview-tts)`, { param: 'model' });
  }
  const body = geminiSpeechBody(call.body, labelOf(target), call.maxTokens);
  if (target.provider === 'gemini') return { url: methodUrl(target, 'generateContent'), method: 'POST', headers: geminiHeaders(target), body: JSON.stringify(body), framing: 'json' };
  return vertexRequest(target, vertexMethodUrl(target, 'google', 'generateContent'), body, 'json');
}

/** Speech: the inline audio of the answer as the format asked for, and the tokens billed. */
export function googleMediaBytes(call: NativeCall, body: unknown, target: Deployment): SpeechAudio {
  return geminiSpeechAudio(body, speechFormatOf(call.body, labelOf(target)), target.provider);
}

/**
 * A health probe that bills nothing: the model's own resource (`GET models/{model}` on the Gemini
 * API, `GET publishers/google/models/{model}` on Vertex AI), which proves the upstream answers,
 * takes the deployment's credentials and knows the model.
 */
export function googleMediaProbe(target: Deployment): UpstreamRequest {
  if (target.provider === 'gemini') {
    const headers = geminiHeaders(target);
    delete headers['content-type'];
    return { url: methodUrl(target, '').replace(/:$/, ''), method: 'GET', headers, framing: 'json' };
  }
  const request = vertexRequest(target, vertexPublisherModelUrl(target), {}, 'json');
  const { 'content-type': _json, ...headers } = request.headers;
  return { url: request.url, method: 'GET', headers, framing: 'json', authorizer: request.authorizer };
}

/** Imagen's images, or the tokens a speech answer reports (usageMetadata): read on an answer the gateway could not serve, too. */
export function googleMediaUsage(call: NativeCall, body: unknown): Usage | undefined {
  return call.method === 'audio/speech' ? usageOfGeminiAnswer(body) : imagenUsage(body, undefined);
}

export function googleMediaAnswer(_call: NativeCall, body: unknown, target: Deployment): unknown {
  return imagenAnswer(body, target.provider, Math.floor(Date.now() / 1000));
}
