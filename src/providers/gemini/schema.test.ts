import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { toGeminiParameters, toGeminiResponseSchema } from './schema.js';

describe('JSON Schema → Gemini schema', () => {
  it('upper-cases types and drops what Gemini cannot parse', () => {
    expect(
      toGeminiResponseSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'https://example.com/person',
        type: 'object',
        title: 'Person',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 80, pattern: '^[A-Z]' },
          age: { type: 'integer', minimum: 0, maximum: 150, exclusiveMaximum: 151, multipleOf: 1 },
          tags: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
        },
        required: ['name'],
        additionalProperties: false,
        patternProperties: { '^x-': { type: 'string' } },
      }),
    ).toEqual({
      type: 'OBJECT',
      title: 'Person',
      properties: {
        name: { type: 'STRING', minLength: 1, maxLength: 80, pattern: '^[A-Z]' },
        age: { type: 'INTEGER', minimum: 0, maximum: 150 },
        tags: { type: 'ARRAY', items: { type: 'STRING' }, minItems: 1 },
      },
      propertyOrdering: ['name', 'age', 'tags'],
      required: ['name'],
    });
  });

  it('turns null alternatives into nullable, and several types into anyOf', () => {
    expect(toGeminiResponseSchema({ type: ['string', 'null'] })).toEqual({ type: 'STRING', nullable: true });
    expect(toGeminiResponseSchema({ anyOf: [{ type: 'null' }, { type: 'array', items: { type: 'number' } }], description: 'scores' })).toEqual({
      description: 'scores',
      nullable: true,
      type: 'ARRAY',
      items: { type: 'NUMBER' },
    });
    expect(toGeminiResponseSchema({ type: ['string', 'integer'] })).toEqual({ anyOf: [{ type: 'STRING' }, { type: 'INTEGER' }] });
    expect(toGeminiResponseSchema({ oneOf: [{ type: 'string' }, { type: 'boolean' }] })).toEqual({ anyOf: [{ type: 'STRING' }, { type: 'BOOLEAN' }] });
  });

  it('inlines $defs references (as pydantic emits them) and merges allOf', () => {
    const schema = {
      type: 'object',
      properties: {
        home: { $ref: '#/$defs/Address', description: 'Where they live' },
        work: { allOf: [{ $ref: '#/definitions/Address' }] },
      },
      $defs: { Address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      definitions: { Address: { type: 'object', properties: { street: { type: 'string' } } } },
    };
    expect(toGeminiParameters(schema, 'tools[0].function.parameters')).toEqual({
      type: 'OBJECT',
      properties: {
        home: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'], description: 'Where they live' },
        work: { type: 'OBJECT', properties: { street: { type: 'STRING' } } },
      },
    });
  });

  it('refuses references it cannot inline, naming the parameter', () => {
    let error: unknown;
    try {
      toGeminiParameters({ type: 'object', properties: { a: { $ref: 'https://example.com/a.json' } } }, 'tools[2].function.parameters');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 400, param: 'tools[2].function.parameters' });
  });

  it('makes enums strings, turns const into an enum and keeps only formats Gemini accepts', () => {
    expect(toGeminiResponseSchema({ enum: ['a', 'b', null] })).toEqual({ type: 'STRING', enum: ['a', 'b'], nullable: true });
    expect(toGeminiResponseSchema({ type: 'integer', enum: [1, 2] })).toEqual({ type: 'INTEGER', enum: ['1', '2'] });
    expect(toGeminiResponseSchema({ const: 'fixed' })).toEqual({ type: 'STRING', enum: ['fixed'] });
    expect(toGeminiResponseSchema({ type: 'string', format: 'date-time' })).toEqual({ type: 'STRING', format: 'date-time' });
    expect(toGeminiResponseSchema({ type: 'string', format: 'email' })).toEqual({ type: 'STRING' });
    expect(toGeminiResponseSchema({ type: 'number', format: 'double' })).toEqual({ type: 'NUMBER', format: 'double' });
  });

  it('leaves out the parameters of a function that takes none', () => {
    expect(toGeminiParameters({ type: 'object', properties: {}, additionalProperties: false }, 'p')).toBeUndefined();
    expect(toGeminiParameters({}, 'p')).toBeUndefined();
    expect(toGeminiParameters(undefined, 'p')).toBeUndefined();
  });

  it('orders response properties as the client wrote them, not alphabetically', () => {
    expect(toGeminiResponseSchema({ type: 'object', properties: { zeta: { type: 'string' }, alpha: { type: 'string' } } }).propertyOrdering).toEqual(['zeta', 'alpha']);
    expect(toGeminiParameters({ type: 'object', properties: { zeta: { type: 'string' }, alpha: { type: 'string' } } }, 'p')?.propertyOrdering).toBeUndefined();
  });
});
