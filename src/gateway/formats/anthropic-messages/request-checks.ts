/** Structural checks of an Anthropic Messages body, whose 400s name the field and what to send instead. */
import { isJsonObject } from '../../../json-object.js';
import { GatewayError } from '../../../errors.js';
import type { JsonObject } from '../../../providers/types.js';

export function fail(param: string, message: string): never {
  throw new GatewayError('invalid_request', message, { param });
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function requireString(owner: JsonObject, field: string, path: string): string {
  const value = owner[field];
  if (typeof value !== 'string') fail(`${path}.${field}`, `${path}.${field} must be a string, got ${typeName(value)}`);
  return value;
}

export function optionalNumber(body: JsonObject, field: string, integer = false): number | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  const ok = integer ? Number.isInteger(value) : typeof value === 'number' && Number.isFinite(value);
  if (!ok) fail(field, `"${field}" must be ${integer ? 'an integer' : 'a number'}, got ${typeName(value)}`);
  return value as number;
}

export function blockType(block: unknown, path: string): string {
  if (!isJsonObject(block) || typeof block.type !== 'string') fail(path, `${path} must be a content block object with a "type", e.g. {"type":"text","text":"..."}`);
  return block.type;
}

/** Joins the text of `text` blocks; anything else is refused (used where only text is allowed). */
export function textOfBlocks(blocks: unknown[], path: string, separator: string): string {
  return blocks
    .map((block, index) => {
      const blockPath = `${path}[${index}]`;
      const type = blockType(block, blockPath);
      if (type !== 'text') fail(`${blockPath}.type`, `${blockPath} must be a text block, got a "${type}" block`);
      return requireString(block as JsonObject, 'text', blockPath);
    })
    .join(separator);
}

