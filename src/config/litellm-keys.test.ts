/**
 * The LiteLLM key table is the one truth: every honoured key is one the schema reads (so it is not
 * reported as unknown), and the README's "Coming from LiteLLM" tables are rendered from it (run
 * with UPDATE_README=1 to rewrite them after changing the table).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LITELLM_KEYS, type LitellmSection } from './litellm-keys.js';
import { KNOWN_KEYS } from './schema.js';

const README = join(import.meta.dirname, '../../README.md');
const START = '<!-- litellm-keys:start (rendered from src/config/litellm-keys.ts by its test; UPDATE_README=1 rewrites it) -->';
const END = '<!-- litellm-keys:end -->';

function renderTables(): string {
  const sections = Object.keys(LITELLM_KEYS) as LitellmSection[];
  const parts: string[] = [];
  for (const section of sections) {
    const keys = Object.entries(LITELLM_KEYS[section]);
    const honoured = keys.filter(([, key]) => key.honoured).length;
    parts.push(`#### ${section === 'top level' ? 'Top-level sections' : `\`${section}\``} (${honoured} honoured, ${keys.length - honoured} not supported)`, '', '| key | | what the gateway does |', '| --- | --- | --- |');
    for (const [name, key] of keys) parts.push(`| \`${name}\` | ${key.honoured ? 'honoured' : '**not supported**'} | ${key.note.replace(/\|/g, '\\|')} |`);
    parts.push('');
  }
  return parts.join('\n');
}

describe('LiteLLM settings keys', () => {
  it('every honoured key is declared by the schema of its section', () => {
    const schemaOf: Record<LitellmSection, string[]> = {
      'top level': [],
      general_settings: ['general_settings'],
      litellm_settings: ['litellm_settings'],
      router_settings: ['router_settings'],
      litellm_params: ['model_list', '*', 'litellm_params'],
      model_info: ['model_list', '*', 'model_info'],
    } as unknown as Record<LitellmSection, string[]>;
    for (const [section, keys] of Object.entries(LITELLM_KEYS) as Array<[LitellmSection, Record<string, { honoured: boolean }>]>) {
      const entry = KNOWN_KEYS.find((known) => known.path.join('.') === (schemaOf[section] as unknown as string[]).join('.'))!;
      expect(entry.section, section).toBe(section);
      const declared = Object.keys(entry.schema.shape as Record<string, unknown>);
      for (const [name, key] of Object.entries(keys)) if (key.honoured) expect(declared, `${section}.${name}`).toContain(name);
    }
  });

  it('every note is one line', () => {
    for (const keys of Object.values(LITELLM_KEYS)) for (const [name, key] of Object.entries(keys)) expect(key.note, name).toMatch(/^[^\n]{5,160}$/);
  });

  it('the README tables are the table in code', () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, 'README lacks the litellm-keys markers').toBeGreaterThan(0);
    const rendered = `${START}\n\n${renderTables()}\n${END}`;
    if (process.env.UPDATE_README === '1') writeFileSync(README, readme.slice(0, start) + rendered + readme.slice(end + END.length));
    else expect(readme.slice(start, end + END.length)).toBe(rendered);
  });
});
