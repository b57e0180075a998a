/**
 * Imagen's `:predict` as the Gemini API and Vertex AI answer it (Google's "Generate images" docs
 * and the @google/genai SDK's converters): `{"instances":[{"prompt"}],"parameters":{…}}` →
 * `{"predictions":[{"bytesBase64Encoded","mimeType"}]}`, one prediction per image. The parameters
 * are checked like protobuf fields: an unknown one is a 400 "Invalid JSON payload received.
 * Unknown name …"; `sampleCount` 1–4, `aspectRatio` one of Imagen's; `outputOptions` only on
 * Vertex AI. A prompt containing "forbidden" has its images removed by the safety filter (with
 * `raiFilteredReason` when `includeRaiReason` is set); "one forbidden" removes all but one.
 */
type Json = Record<string, unknown>;

/** A 1×1 transparent PNG (its real bytes), as the mock's every image. */
export const MOCK_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** The start of a JPEG (SOI and JFIF APP0), for `outputOptions.mimeType` image/jpeg. */
export const MOCK_JPEG_BASE64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]).toString('base64');

const RATIOS = new Set(['1:1', '3:4', '4:3', '9:16', '16:9']);
const PARAMETERS = new Set(['sampleCount', 'aspectRatio', 'personGeneration', 'safetySetting', 'includeRaiReason', 'includeSafetyAttributes', 'language', 'negativePrompt', 'guidanceScale', 'sampleImageSize', 'enhancePrompt', 'seed', 'addWatermark', 'storageUri']);

export interface ImagenAnswer {
  status: number;
  body: unknown;
}

function badRequest(message: string): ImagenAnswer {
  return { status: 400, body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } } };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function imagenPredict(body: Json, api: 'gemini' | 'vertex'): ImagenAnswer {
  for (const key of Object.keys(body)) if (key !== 'instances' && key !== 'parameters') return badRequest(`Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length !== 1 || !isObject(instances[0]) || typeof instances[0].prompt !== 'string' || instances[0].prompt === '') {
    return badRequest('Image generation takes exactly one instance with a non-empty "prompt".');
  }
  const prompt = instances[0].prompt;
  const parameters = isObject(body.parameters) ? body.parameters : {};
  for (const key of Object.keys(parameters)) {
    if (PARAMETERS.has(key) || (key === 'outputOptions' && api === 'vertex')) continue;
    return badRequest(`Invalid JSON payload received. Unknown name "${key}" at 'parameters': Cannot find field.`);
  }
  const count = parameters.sampleCount ?? 4;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 4) return badRequest(`sampleCount must be between 1 and 4, got ${String(count)}.`);
  if (parameters.aspectRatio !== undefined && !RATIOS.has(String(parameters.aspectRatio))) return badRequest(`Unsupported aspect ratio: ${String(parameters.aspectRatio)}.`);
  const options = isObject(parameters.outputOptions) ? parameters.outputOptions : {};
  const mimeType = options.mimeType ?? 'image/png';
  if (mimeType !== 'image/png' && mimeType !== 'image/jpeg') return badRequest(`Unsupported output mime type: ${String(mimeType)}.`);
  const bytes = mimeType === 'image/jpeg' ? MOCK_JPEG_BASE64 : MOCK_PNG_BASE64;
  const kept = /\bone forbidden\b/.test(prompt) ? 1 : /\bforbidden\b/.test(prompt) ? 0 : count;
  const predictions: Json[] = [];
  for (let index = 0; index < kept; index++) predictions.push({ bytesBase64Encoded: bytes, mimeType });
  if (kept < count && parameters.includeRaiReason === true) {
    predictions.push({ raiFilteredReason: `Your current safety filter threshold filtered out ${count - kept} generated images. You will not be charged for blocked images. Try rephrasing the prompt.` });
  }
  // Google leaves an empty list out (proto3 JSON): every image filtered, no reason asked → {}.
  return { status: 200, body: predictions.length > 0 ? { predictions } : {} };
}
