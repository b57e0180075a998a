/**
 * OpenAI's `/v1/images/generations` ↔ Google's Imagen models, which both the Gemini API
 * (`{base}/v1beta/models/{model}:predict`) and Vertex AI (`…/publishers/google/models/{model}:predict`)
 * serve with the same messages:
 * `{"instances":[{"prompt"}],"parameters":{"sampleCount","aspectRatio","includeRaiReason"}}` (Vertex AI also
 * takes `outputOptions` {mimeType, compressionQuality}, from `output_format` / `output_compression`)
 * → `{"predictions":[{"bytesBase64Encoded","mimeType"}]}`. Imagen answers with the images' bytes,
 * so only `response_format: "b64_json"` is served; OpenAI sizes map to Imagen's aspect ratios
 * (a size with no ratio Imagen makes is refused, never silently replaced). Images Google's
 * safety filters removed are not in the answer and not billed; when all are, the call is refused
 * with the filter's reason (`includeRaiReason`).
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { MediaUnits, Usage } from '../types.js';

type Json = Record<string, unknown>;

/** Imagen models (and the older `imagegeneration@00x`), by upstream model name. */
export function isImagenModel(model: string): boolean {
  return /^(models\/)?(imagen-|imagegeneration@)/i.test(model);
}

/** Imagen makes at most four images per request. */
export const IMAGEN_MAX_IMAGES = 4;

/** OpenAI sizes → Imagen aspect ratios: OpenAI's own sizes and Imagen's output sizes (Vertex AI's table). */
const ASPECT_RATIOS: Record<string, string> = {
  '1024x1024': '1:1',
  '2048x2048': '1:1',
  '1792x1024': '16:9',
  '1408x768': '16:9',
  '1024x1792': '9:16',
  '768x1408': '9:16',
  '1280x896': '4:3',
  '1152x896': '4:3',
  '896x1280': '3:4',
  '896x1152': '3:4',
};

const MIME_TYPES: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg' };

/** Request fields with no Imagen equivalent that are harmless at their defaults. */
const DEFAULTS: Record<string, unknown[]> = { quality: ['auto', 'standard'], style: [], background: ['auto'], moderation: ['auto'] };

/** The predict body for an OpenAI images request; refuses what Imagen cannot do, by name. */
export function imagenPredictBody(body: Json, label: string, outputOptions: boolean): Json {
  const parameters: Json = { sampleCount: 1, includeRaiReason: true };
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'model':
      case 'prompt':
        break;
      // The gateway's end user (request-options.ts); Imagen has no such field.
      case 'user':
        break;
      case 'n':
        if (typeof value !== 'number' || value > IMAGEN_MAX_IMAGES) throw refuse('n', `"n" must be at most ${IMAGEN_MAX_IMAGES} on ${label}: Imagen makes at most ${IMAGEN_MAX_IMAGES} images per request`);
        parameters.sampleCount = value;
        break;
      case 'size':
        if (value === 'auto') break;
        if (typeof value !== 'string' || !Object.hasOwn(ASPECT_RATIOS, value)) {
          throw refuse('size', `"size": ${JSON.stringify(value)} has no Imagen aspect ratio on ${label}; use one of ${Object.keys(ASPECT_RATIOS).join(', ')} (or "auto")`);
        }
        parameters.aspectRatio = ASPECT_RATIOS[value];
        break;
      case 'response_format':
        if (value !== 'b64_json') throw refuse('response_format', `"response_format": ${JSON.stringify(value)} is not served on ${label}: Imagen returns the image bytes, not URLs; ask for "b64_json"`);
        break;
      case 'output_format':
        if (!outputOptions) throw refuse(key, `"${key}" is not supported on ${label}: the Gemini API's Imagen takes no output options (Vertex AI's does)`);
        if (typeof value !== 'string' || !Object.hasOwn(MIME_TYPES, value)) throw refuse('output_format', `"output_format" must be "png" or "jpeg" on ${label}`);
        parameters.outputOptions = { ...(isJsonObject(parameters.outputOptions) ? parameters.outputOptions : {}), mimeType: MIME_TYPES[value] };
        break;
      case 'output_compression':
        if (!outputOptions) throw refuse(key, `"${key}" is not supported on ${label}: the Gemini API's Imagen takes no output options (Vertex AI's does)`);
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) throw refuse('output_compression', '"output_compression" must be an integer from 0 to 100');
        parameters.outputOptions = { ...(isJsonObject(parameters.outputOptions) ? parameters.outputOptions : {}), compressionQuality: value };
        break;
      default:
        if (Object.hasOwn(DEFAULTS, key) && DEFAULTS[key].includes(value)) break;
        throw refuse(key, `"${key}"${Object.hasOwn(DEFAULTS, key) ? `: ${JSON.stringify(value)}` : ''} is not supported on ${label} (Imagen)`);
    }
  }
  if (isJsonObject(parameters.outputOptions) && parameters.outputOptions.compressionQuality !== undefined && parameters.outputOptions.mimeType !== 'image/jpeg') {
    throw refuse('output_compression', '"output_compression" applies to "output_format": "jpeg" only on Imagen');
  }
  return { instances: [{ prompt: body.prompt }], parameters };
}

function refuse(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

interface ImagenPrediction {
  bytesBase64Encoded?: string;
  mimeType?: string;
  prompt?: string;
  raiFilteredReason?: string;
}

function predictionsOf(body: unknown): ImagenPrediction[] {
  return isJsonObject(body) && Array.isArray(body.predictions) ? (body.predictions as unknown[]).filter(isJsonObject) : [];
}

function imagesOf(body: unknown): ImagenPrediction[] {
  return predictionsOf(body).filter((prediction) => typeof prediction.bytesBase64Encoded === 'string' && prediction.bytesBase64Encoded !== '');
}

/** The images returned, held to what was asked (`sampleCount`): each is billed. */
export function imagenUsage(body: unknown, variant: string | undefined): Usage {
  const units: MediaUnits = { images: imagesOf(body).length, imageVariant: variant };
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, units };
}

/**
 * OpenAI's images answer: `created`, `data[].b64_json` (and `revised_prompt` when Imagen rewrote
 * the prompt), `output_format`. An answer without an image (every one filtered) is refused with
 * Google's reason.
 */
export function imagenAnswer(body: unknown, provider: string, created: number): Json {
  const images = imagesOf(body);
  if (images.length === 0) {
    const reasons = predictionsOf(body).map((prediction) => prediction.raiFilteredReason).filter((reason): reason is string => typeof reason === 'string');
    const why = reasons.length > 0 ? `: ${reasons.join('; ')}` : '';
    throw new GatewayError('invalid_request', `${provider} returned no image: Imagen's safety filters removed every image${why}`, { provider, param: 'prompt' });
  }
  const mimeType = images[0].mimeType;
  return {
    created,
    data: images.map((image) => ({ b64_json: image.bytesBase64Encoded, ...(typeof image.prompt === 'string' ? { revised_prompt: image.prompt } : {}) })),
    ...(mimeType === 'image/jpeg' ? { output_format: 'jpeg' } : mimeType === 'image/png' ? { output_format: 'png' } : {}),
  };
}
