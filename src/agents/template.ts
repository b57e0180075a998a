/**
 * Prompt templates: `{{input_data.email_content}}` or `{{entity_type}}` placeholders, replaced by
 * the run's values (strings as they are, anything else as JSON). A placeholder naming anything else,
 * or an unclosed `{{`, is refused when the agent is saved; a value the run's input lacks is refused
 * when it runs — never rendered as an empty string.
 */
import { GatewayError } from '../errors.js';

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^(input_data(\.[A-Za-z0-9_-]+)*|entity_type)$/;

export function checkTemplate(template: string, field: string): void {
  const stripped = template.replace(PLACEHOLDER, (_match, path: string) => {
    if (!PATH.test(path)) throw new GatewayError('invalid_request', `${field}: the placeholder "{{${path}}}" must name input_data, a field of it (e.g. {{input_data.email_content}}) or entity_type`, { param: field });
    return '';
  });
  if (stripped.includes('{{') || stripped.includes('}}')) throw new GatewayError('invalid_request', `${field}: an unclosed or unopened placeholder; write placeholders as {{input_data.field}}`, { param: field });
}

export function renderTemplate(template: string, values: { input_data: Record<string, unknown>; entity_type: string | null }): string {
  return template.replace(PLACEHOLDER, (_match, path: string) => {
    const value = valueAt(values, path);
    if (value === undefined) throw new GatewayError('invalid_request', `${path} is missing: the agent's prompt_template uses {{${path}}}`, { param: path });
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function valueAt(values: { input_data: Record<string, unknown>; entity_type: string | null }, path: string): unknown {
  if (path === 'entity_type') return values.entity_type ?? undefined;
  let value: unknown = values.input_data;
  for (const part of path.split('.').slice(1)) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
