/**
 * Converts a JSON Schema (as OpenAI clients send it in `response_format.json_schema.schema` and in
 * `tools[].function.parameters`) to the OpenAPI 3.0 subset Gemini's `Schema` message accepts.
 *
 * Gemini parses the schema as a protobuf message, so any key it does not know is a 400 ("Unknown
 * name \"additionalProperties\""). The conversion therefore keeps an allow-list, not a deny-list:
 * - `type` is upper-cased (STRING, OBJECT, ...); `["string","null"]` becomes STRING + nullable;
 * - `$ref` into `#/$defs` or `#/definitions` is inlined (Gemini has no references); a recursive
 *   reference cannot be expressed and is refused with a 400;
 * - `anyOf` / `oneOf` become `anyOf` (oneOf is loosened to anyOf), a `{"type":"null"}` branch
 *   becomes `nullable`; `allOf` is merged into one schema; `const` becomes a one-value `enum`;
 * - enum values become strings (Gemini enums are strings);
 * - `format` is kept only where Gemini accepts it (STRING: enum, date-time; NUMBER: float, double;
 *   INTEGER: int32, int64);
 * - object properties get `propertyOrdering` in the client's order, because Gemini otherwise
 *   orders the generated JSON keys alphabetically;
 * - everything else is dropped: additionalProperties, $schema, $id, $defs, definitions, strict,
 *   patternProperties, exclusiveMinimum/Maximum, multipleOf, uniqueItems, not, if/then/else, ...
 *   These only constrain, so dropping them loosens the contract and never rejects a valid answer.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { JsonObject } from '../types.js';
import type { GeminiSchema } from './wire.js';

type SchemaType = NonNullable<GeminiSchema['type']>;

const TYPES: Record<string, SchemaType> = {
  string: 'STRING',
  number: 'NUMBER',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  array: 'ARRAY',
  object: 'OBJECT',
};

const FORMATS: Partial<Record<SchemaType, ReadonlySet<string>>> = {
  STRING: new Set(['enum', 'date-time']),
  NUMBER: new Set(['float', 'double']),
  INTEGER: new Set(['int32', 'int64']),
};

const COUNTS = ['minItems', 'maxItems', 'minLength', 'maxLength', 'minProperties', 'maxProperties'] as const;

interface Context {
  root: JsonObject;
  /** Where the schema came from, for error messages (`response_format`, `tools[0]...`). */
  param: string;
  /** $refs being expanded on the current path, to refuse recursion instead of looping. */
  expanding: string[];
  /** Add propertyOrdering (for responseSchema; function parameters do not need it). */
  ordering: boolean;
}

function refuse(context: Context, message: string): never {
  throw new GatewayError('invalid_request', `${context.param}: ${message}`, { param: context.param });
}

function resolveRef(ref: string, context: Context): JsonObject {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const container = match ? context.root[match[1]] : undefined;
  let name = '';
  try {
    name = match ? decodeURIComponent(match[2].replace(/~1/g, '/').replace(/~0/g, '~')) : '';
  } catch {
    // malformed percent-encoding: a name no definition has, refused below
  }
  const target = isJsonObject(container) ? container[name] : undefined;
  if (!isJsonObject(target)) refuse(context, `the schema reference "${ref}" cannot be resolved; Gemini needs references inlined (only #/$defs/... and #/definitions/... are followed)`);
  if (context.expanding.includes(ref)) refuse(context, `the schema reference "${ref}" is recursive, which Gemini's schema format cannot express; flatten the schema`);
  return target;
}

function isNullSchema(value: unknown): boolean {
  return isJsonObject(value) && value.type === 'null' && Object.keys(value).every((key) => key === 'type' || key === 'description' || key === 'title');
}

/** Merges `overlay` into `base` (allOf, or a single non-null anyOf branch next to its siblings). */
function merge(base: GeminiSchema, overlay: GeminiSchema): GeminiSchema {
  const merged: GeminiSchema = { ...base, ...overlay };
  if (base.properties || overlay.properties) merged.properties = { ...base.properties, ...overlay.properties };
  if (base.required || overlay.required) merged.required = [...new Set([...(base.required ?? []), ...(overlay.required ?? [])])];
  if (base.propertyOrdering || overlay.propertyOrdering) merged.propertyOrdering = [...new Set([...(base.propertyOrdering ?? []), ...(overlay.propertyOrdering ?? [])])];
  if (base.nullable || overlay.nullable) merged.nullable = true;
  return merged;
}

function convertType(value: unknown, schema: GeminiSchema, context: Context): void {
  const names = (Array.isArray(value) ? value : [value]).filter((name): name is string => typeof name === 'string');
  if (names.includes('null')) schema.nullable = true;
  const types = names.filter((name) => name !== 'null').map((name) => TYPES[name]);
  if (types.some((type) => type === undefined)) refuse(context, `unknown JSON Schema type in ${JSON.stringify(value)}`);
  if (types.length === 1) schema.type = types[0];
  else if (types.length > 1) schema.anyOf = types.map((type) => ({ type }));
}

function convertAlternatives(branches: unknown[], schema: GeminiSchema, context: Context): GeminiSchema {
  const kept = branches.filter((branch) => {
    if (isNullSchema(branch)) {
      schema.nullable = true;
      return false;
    }
    return true;
  });
  const converted = kept.map((branch) => convertNode(branch, context));
  if (converted.length === 1) return merge(schema, converted[0]);
  if (converted.length > 1) schema.anyOf = converted;
  return schema;
}

function convertNode(node: unknown, context: Context): GeminiSchema {
  if (node === true || (isJsonObject(node) && Object.keys(node).length === 0)) return {};
  if (!isJsonObject(node)) refuse(context, `a schema must be an object, got ${JSON.stringify(node)}`);

  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    const target = resolveRef(ref, context);
    context.expanding.push(ref);
    // Siblings of $ref (description, nullable via anyOf...) apply on top of the target.
    const { $ref: _ignored, ...siblings } = node;
    const resolved = merge(convertNode(target, context), convertNode(siblings, context));
    context.expanding.pop();
    return resolved;
  }

  let schema: GeminiSchema = {};
  if (node.type !== undefined) convertType(node.type, schema, context);
  if (typeof node.title === 'string') schema.title = node.title;
  if (typeof node.description === 'string') schema.description = node.description;
  if (node.nullable === true) schema.nullable = true;

  const values = Array.isArray(node.enum) ? node.enum : node.const !== undefined ? [node.const] : undefined;
  if (values) {
    if (values.includes(null)) schema.nullable = true;
    schema.enum = values.filter((value) => value !== null).map((value) => (typeof value === 'string' ? value : JSON.stringify(value)));
    schema.type ??= 'STRING';
  }

  if (typeof node.format === 'string' && schema.type && FORMATS[schema.type]?.has(node.format)) schema.format = node.format;

  if (isJsonObject(node.properties)) {
    schema.properties = {};
    for (const [name, property] of Object.entries(node.properties)) schema.properties[name] = convertNode(property, context);
    schema.type ??= 'OBJECT';
    const names = Object.keys(schema.properties);
    if (Array.isArray(node.propertyOrdering)) schema.propertyOrdering = node.propertyOrdering.filter((name): name is string => typeof name === 'string');
    else if (context.ordering && names.length > 1) schema.propertyOrdering = names;
  }
  if (Array.isArray(node.required)) schema.required = node.required.filter((name): name is string => typeof name === 'string');

  if (node.items !== undefined) {
    // Tuple-form items (an array of schemas) has no Gemini equivalent: any of them may appear.
    schema.items = Array.isArray(node.items) ? convertAlternatives(node.items, {}, context) : convertNode(node.items, context);
    schema.type ??= 'ARRAY';
  }

  for (const key of COUNTS) {
    const value = node[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) schema[key] = value;
  }
  if (typeof node.minimum === 'number') schema.minimum = node.minimum;
  if (typeof node.maximum === 'number') schema.maximum = node.maximum;
  if (typeof node.pattern === 'string') schema.pattern = node.pattern;
  if (node.default !== undefined) schema.default = node.default;
  if (node.example !== undefined) schema.example = node.example;

  const alternatives = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (alternatives) schema = convertAlternatives(alternatives, schema, context);
  if (Array.isArray(node.allOf)) {
    for (const part of node.allOf) schema = merge(schema, convertNode(part, context));
  }
  // Gemini refuses a schema that has both a type and anyOf; the branches carry their own types.
  if (schema.anyOf && schema.type) delete schema.type;
  return schema;
}

/** A response_format json_schema `schema` as Gemini's responseSchema. */
export function toGeminiResponseSchema(schema: unknown, param = 'response_format.json_schema.schema'): GeminiSchema {
  const root = isJsonObject(schema) ? schema : {};
  return convertNode(schema, { root, param, expanding: [], ordering: true });
}

/**
 * Function parameters as Gemini's FunctionDeclaration.parameters; undefined for a function without
 * parameters, because Gemini refuses an OBJECT schema whose properties are empty.
 */
export function toGeminiParameters(schema: unknown, param: string): GeminiSchema | undefined {
  if (schema === undefined || schema === null) return undefined;
  const root = isJsonObject(schema) ? schema : {};
  const converted = convertNode(schema, { root, param, expanding: [], ordering: false });
  if (converted.type === 'OBJECT' && (!converted.properties || Object.keys(converted.properties).length === 0)) return undefined;
  if (Object.keys(converted).length === 0) return undefined;
  return converted;
}
