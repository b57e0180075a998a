import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { agentFromCreate, agentWithPatch } from './definition.js';
import { checkOutput, microsOf } from './run.js';
import { renderTemplate } from './template.js';

function refused(action: () => unknown): GatewayError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('agent definitions', () => {
  it('fills in defaults', () => {
    expect(agentFromCreate({ name: 'rfq-classifier', model: 'gpt-4o' })).toEqual({
      name: 'rfq-classifier', display_name: 'rfq-classifier', type: 'rfq_classifier', description: '', model: 'gpt-4o', fallbacks: [], temperature: null, max_tokens: null,
      confidence_threshold: 0, system_prompt: '', prompt_template: null, output_schema: null, status: 'active', metadata: {},
    });
  });

  it('names the bad field', () => {
    expect(refused(() => agentFromCreate({ name: 'x', model: 'm', output_schema: { type: 'objekt' } })).param).toBe('output_schema');
    expect(refused(() => agentFromCreate({ name: 'x', model: 'm', prompt_template: '{{ input_data.a }} {{secret}}' })).message).toContain('{{secret}}');
    expect(refused(() => agentFromCreate({ name: 'x', model: 'm', prompt_template: 'a }} b' })).param).toBe('prompt_template');
    expect(refused(() => agentFromCreate({ name: 'x', model: 'm', temperature: 3 })).param).toBe('temperature');
    expect(refused(() => agentFromCreate({ name: 'x' })).param).toBe('model');
    expect(refused(() => agentFromCreate({ name: 'stats', model: 'm' })).message).toContain('reserved');
    expect(refused(() => agentFromCreate([])).param).toBe('body');
    const current = agentFromCreate({ name: 'x', model: 'm' });
    expect(refused(() => agentWithPatch(current, {})).param).toBe('body');
    expect(refused(() => agentWithPatch(current, { status: 'sleeping' })).param).toBe('status');
    expect(agentWithPatch(current, { temperature: null, status: 'paused' })).toMatchObject({ temperature: null, status: 'paused', model: 'm' });
  });
});

describe('templates', () => {
  const values = { input_data: { email: { subject: 'Bolts', lines: [1, 2] }, body: 'Need 500' }, entity_type: 'rfq' };
  it('renders strings as they are and anything else as JSON', () => {
    expect(renderTemplate('{{entity_type}}: {{ input_data.email.subject }} {{input_data.email.lines}} / {{input_data.body}}', values)).toBe('rfq: Bolts [1,2] / Need 500');
    expect(renderTemplate('{{input_data}}', values)).toBe(JSON.stringify(values.input_data));
  });
  it('refuses a value the input lacks, naming it', () => {
    expect(refused(() => renderTemplate('{{input_data.email.sender}}', values)).param).toBe('input_data.email.sender');
    expect(refused(() => renderTemplate('{{entity_type}}', { ...values, entity_type: null })).param).toBe('entity_type');
  });
});

describe('run output', () => {
  const agent = agentFromCreate({ name: 'x', model: 'm', output_schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } });
  it('parses JSON, also inside a code fence, and validates it against the schema', () => {
    expect(checkOutput(agent, '```json\n{"a": 1}\n```')).toEqual({ output: { a: 1 } });
    expect(checkOutput(agent, '{"a": "one"}').error).toContain('/a must be integer');
    expect(checkOutput(agent, 'Sure! {"a": 1}').error).toContain('not JSON');
    expect(checkOutput(agentFromCreate({ name: 'y', model: 'm' }), '[1]').error).toContain('not a JSON object');
  });
  it('reads a USD decimal back into exact micro-dollars', () => {
    expect(microsOf('0.000022')).toBe(22);
    expect(microsOf('1.5')).toBe(1_500_000);
    expect(microsOf('0')).toBe(0);
    expect(microsOf('12.345678')).toBe(12_345_678);
  });
});
