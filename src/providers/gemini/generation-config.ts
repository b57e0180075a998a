/**
 * The fields of a native Gemini body (`/gemini/...`, relayed as the client wrote it) that bound what
 * Google bills: `generationConfig.maxOutputTokens`, `candidateCount` and
 * `thinkingConfig.thinkingBudget`. Google reads its JSON bodies as proto3 JSON, which takes every
 * field under its proto name too (`generation_config.max_output_tokens`, `candidate_count`,
 * `thinking_config.thinking_budget`) and integer fields as numeric strings (`"8"`). The gateway
 * reads them as Google does, so that the reservation and the cap it sends cover what Google will
 * generate; a body naming one field under both spellings is refused, since which one Google
 * reads is not the gateway's to guess.
 */
import { GatewayError } from '../../errors.js';
import { isJsonObject } from '../../json-object.js';
import type { JsonObject } from '../types.js';

/** A field's JSON name (lowerCamelCase) and its proto name, as Google takes either. */
type Spellings = readonly [camel: string, proto: string];

const GENERATION_CONFIG: Spellings = ['generationConfig', 'generation_config'];
const MAX_OUTPUT_TOKENS: Spellings = ['maxOutputTokens', 'max_output_tokens'];
const CANDIDATE_COUNT: Spellings = ['candidateCount', 'candidate_count'];
const THINKING_CONFIG: Spellings = ['thinkingConfig', 'thinking_config'];
const THINKING_BUDGET: Spellings = ['thinkingBudget', 'thinking_budget'];

function present(object: JsonObject, name: string): boolean {
  return object[name] !== undefined && object[name] !== null;
}

/** The spelling `object` uses for a field (the JSON name when it uses neither); refuses both. */
function spellingIn(object: JsonObject, [camel, proto]: Spellings, path: string): string {
  if (present(object, camel) && present(object, proto)) {
    throw new GatewayError('invalid_request', `${path}${camel} and ${path}${proto} name the same field; send one of them`, { param: `${path}${camel}` });
  }
  return present(object, proto) ? proto : camel;
}

/** An integer as proto3 JSON reads one: a number, or a string of digits. */
function integerOf(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) ? number : undefined;
}

function positive(value: unknown): number | undefined {
  const number = integerOf(value);
  return number !== undefined && number > 0 ? number : undefined;
}

/** Where a body keeps its generation config, and the config (empty when it has none). */
export function generationConfigOf(body: JsonObject): { name: string; config: JsonObject } {
  const name = spellingIn(body, GENERATION_CONFIG, '');
  const config = body[name];
  return { name, config: isJsonObject(config) ? config : {} };
}

export interface GenerationBounds {
  maxOutputTokens?: number;
  candidateCount?: number;
  /** Whether the model may think (billed as output): unless a thinking budget of 0 turns it off. */
  thinking: boolean;
}

/** The limits of a generateContent body, under whichever spelling it uses. */
export function generationBounds(body: JsonObject): GenerationBounds {
  const { name, config } = generationConfigOf(body);
  const path = `${name}.`;
  const maxOutputTokens = positive(config[spellingIn(config, MAX_OUTPUT_TOKENS, path)]);
  const candidateCount = positive(config[spellingIn(config, CANDIDATE_COUNT, path)]);
  const thinkingName = spellingIn(config, THINKING_CONFIG, path);
  const thinkingConfig = isJsonObject(config[thinkingName]) ? config[thinkingName] : {};
  const budget = integerOf(thinkingConfig[spellingIn(thinkingConfig, THINKING_BUDGET, `${path}${thinkingName}.`)]);
  return { maxOutputTokens, candidateCount, thinking: budget !== 0 };
}

/**
 * `body` with the output limit lowered to `maxTokens` where the client asked for more or set none,
 * written under the spelling the client used (so no second, larger limit stays beside it).
 */
export function withOutputCap(body: JsonObject, maxTokens: number | undefined): JsonObject {
  if (maxTokens === undefined) return body;
  const { name, config } = generationConfigOf(body);
  const field = spellingIn(config, MAX_OUTPUT_TOKENS, `${name}.`);
  const asked = positive(config[field]);
  if (asked !== undefined && asked <= maxTokens) return body;
  return { ...body, [name]: { ...config, [field]: maxTokens } };
}
