/** The provider-native APIs the gateway relays, by the API's name in the route (`/gemini/...`). */
import type { NativeApi } from '../gateway/call-context.js';
import { anthropicNative } from './anthropic/native.js';
import { geminiNative } from './gemini/native.js';
import type { NativeProvider } from './native.js';
import { openAINative, openAIResponsesNative } from './shared/openai-native.js';
import { openAIRestNative } from './shared/openai-rest.js';

const NATIVE: Record<NativeApi, NativeProvider> = { gemini: geminiNative, anthropic: anthropicNative, openai: openAINative, 'openai-responses': openAIResponsesNative, 'openai-rest': openAIRestNative };

export function nativeProviderOf(api: NativeApi): NativeProvider {
  return NATIVE[api];
}
