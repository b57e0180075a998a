import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { configuredAgents } from './configured.js';

describe("config.yaml's agents", () => {
  it('parses the section into checked agents', () => {
    const loaded = parseConfig('agents:\n  - name: email-parser\n    model: gpt-4o\n    prompt_template: "{{input_data.email}}"\n');
    expect(loaded.issues).toEqual([]);
    expect(configuredAgents(loaded.config.agents)).toMatchObject([{ name: 'email-parser', model: 'gpt-4o', prompt_template: '{{input_data.email}}', status: 'active' }]);
  });

  it('refuses an unknown key or a bad value as a fatal config error naming it', () => {
    const loaded = parseConfig('agents:\n  - name: email-parser\n    model: gpt-4o\n    colour: red\n');
    const issue = loaded.issues.find((item) => item.path.join('.').startsWith('agents'));
    expect(issue).toMatchObject({ severity: 'error', fatal: true });
    expect(issue!.message).toContain('colour');
  });

  it('refuses a schema or template that cannot work, and a name used twice, naming the entry', () => {
    const schema = parseConfig('agents:\n  - name: a\n    model: m\n    output_schema: {type: objekt}\n');
    expect(() => configuredAgents(schema.config.agents)).toThrow(/agents\[0\] \(a\): output_schema/);
    const template = parseConfig('agents:\n  - name: a\n    model: m\n  - name: b\n    model: m\n    prompt_template: "{{input}}"\n');
    expect(() => configuredAgents(template.config.agents)).toThrow(/agents\[1\] \(b\): prompt_template/);
    const twice = parseConfig('agents:\n  - name: a\n    model: m\n  - name: a\n    model: n\n');
    expect(() => configuredAgents(twice.config.agents)).toThrow(/used twice/);
  });
});
