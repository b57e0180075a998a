import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { ChatRequest } from '../providers/types.js';
import { assertNoCloudStorageInChat, assertNoCloudStorageInGeminiBody, isCloudStorageUri } from './cloud-storage-references.js';

const chat = (url: unknown): ChatRequest => ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'gs://in-text-is-harmless' }, { type: 'image_url', image_url: url }] }] }) as unknown as ChatRequest;
const paramOf = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return (error as GatewayError).param;
  }
  return undefined;
};

describe('Cloud Storage references', () => {
  it('recognizes gs:// in any case, after blanks; not https or text', () => {
    expect([' gs://b/o', 'GS://b/o', 'gs://b'].every(isCloudStorageUri)).toBe(true);
    expect(['https://storage.googleapis.com/b/o', 'data:image/png;base64,AA', 'see gs://b/o', 7].some(isCloudStorageUri)).toBe(false);
  });

  it('chat: refuses a gs:// image_url (object or string form) by its part, unless allowed', () => {
    expect(paramOf(() => assertNoCloudStorageInChat(chat({ url: 'gs://b/o.png' }), false))).toBe('messages[0].content[1].image_url.url');
    expect(paramOf(() => assertNoCloudStorageInChat(chat('gs://b/o.png'), false))).toBe('messages[0].content[1].image_url.url');
    expect(() => assertNoCloudStorageInChat(chat({ url: 'gs://b/o.png' }), true)).not.toThrow();
    expect(() => assertNoCloudStorageInChat(chat({ url: 'https://example.com/a.png' }), false)).not.toThrow();
  });

  it('gemini: refuses fileUri / file_uri anywhere in the body, with its path; text mentioning gs:// passes', () => {
    const body = { generateContentRequest: { systemInstruction: { parts: [{ file_data: { file_uri: 'gs://b/o' } }] } } };
    expect(paramOf(() => assertNoCloudStorageInGeminiBody(body, false))).toBe('generateContentRequest.systemInstruction.parts[0].file_data.file_uri');
    expect(() => assertNoCloudStorageInGeminiBody(body, true)).not.toThrow();
    expect(() => assertNoCloudStorageInGeminiBody({ contents: [{ parts: [{ text: 'gs://b/o' }, { fileData: { fileUri: 'https://www.youtube.com/watch?v=x' } }] }] }, false)).not.toThrow();
  });

  it('gemini: a body nested past the bound is refused rather than walked', () => {
    let deep: unknown = { fileUri: 'gs://b/o' };
    for (let index = 0; index < 200; index++) deep = [deep];
    expect(() => assertNoCloudStorageInGeminiBody({ contents: deep }, false)).toThrow(GatewayError);
  });
});
