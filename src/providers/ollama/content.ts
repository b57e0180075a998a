/**
 * OpenAI message content (a string or text and image parts) as Ollama takes it: one text and a
 * list of base64 images. Ollama cannot fetch image URLs, so only data: URLs are accepted; anything
 * else is refused with a 400 that names the message part to fix.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatContentPart, ChatMessage } from '../types.js';

export interface MessageContent {
  text: string;
  images: string[];
}

const DATA_URL = /^data:[^,]*?;base64,/i;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

function imageUrlOf(part: ChatContentPart): unknown {
  const image = 'image_url' in part ? part.image_url : undefined;
  // Some clients send the URL itself rather than {url}.
  return isJsonObject(image) ? image.url : image;
}

/** The base64 payload of a data: URL, or a 400 naming the part when it is anything else. */
export function imageData(url: unknown, where: string): string {
  if (typeof url !== 'string' || url.length === 0) throw invalid(`${where}.image_url.url`, `${where}: image_url.url must be a data: URL such as "data:image/png;base64,..."`);
  const prefix = DATA_URL.exec(url);
  if (!prefix) {
    if (/^https?:\/\//i.test(url)) {
      throw invalid(`${where}.image_url.url`, `${where}: Ollama cannot download images from URLs (${url.slice(0, 100)}); send the image inline as a base64 data: URL ("data:image/png;base64,...")`);
    }
    throw invalid(`${where}.image_url.url`, `${where}: the image must be a base64 data: URL ("data:image/png;base64,..."), got "${url.slice(0, 40)}"`);
  }
  const data = url.slice(prefix[0].length);
  if (data.length === 0) throw invalid(`${where}.image_url.url`, `${where}: the data: URL holds no image data`);
  return data;
}

/** Text and images of message `index`. */
export function readContent(message: ChatMessage, index: number): MessageContent {
  const content = message.content;
  if (content === undefined || content === null) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part, partIndex) => {
    const where = `messages[${index}].content[${partIndex}]`;
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part.type === 'image_url') images.push(imageData(imageUrlOf(part), where));
    else throw invalid(where, `${where}: Ollama takes text and image_url parts only, got a part of type "${part.type}"`);
  });
  return { text: texts.join('\n'), images };
}
