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

/**
 * The part of `input_data` the template reads: each field a placeholder names, at the depth it
 * names it (`{{input_data.spec.size}}` keeps `spec.size`, not the rest of `spec`); all of it when a
 * placeholder names `{{input_data}}`. This is what the model is sent, so what a run stores of its
 * input is never more than the prompt the caller was billed for.
 */
export function inputReadBy(template: string, input: Record<string, unknown>): Record<string, unknown> {
  const paths = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!.trim()).filter((path) => path === 'input_data' || path.startsWith('input_data.'));
  if (paths.includes('input_data')) return input;
  const read: Record<string, unknown> = {};
  // Shorter paths first: a field kept whole is not narrowed by a deeper placeholder under it.
  for (const path of paths.sort((a, b) => a.length - b.length)) {
    const parts = path.split('.').slice(1);
    const value = valueAt({ input_data: input, entity_type: null }, path);
    if (value === undefined) continue;
    let target = read;
    let kept = false;
    for (const part of parts.slice(0, -1)) {
      const next = Object.prototype.hasOwnProperty.call(target, part) ? target[part] : undefined;
      if (next !== undefined && (typeof next !== 'object' || next === null || !isProjection.has(next))) {
        kept = true;
        break;
      }
      if (next === undefined) {
        const created: Record<string, unknown> = {};
        isProjection.add(created);
        Object.defineProperty(target, part, { value: created, enumerable: true, writable: true, configurable: true });
      }
      target = target[part] as Record<string, unknown>;
    }
    if (!kept) Object.defineProperty(target, parts.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  }
  return read;
}

/** The objects inputReadBy built (not values of the input), which deeper fields may be added to. */
const isProjection = new WeakSet<object>();
