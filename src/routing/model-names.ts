/**
 * How a restriction that names a model (a per-model budget, a routing rule's deny_models) compares
 * that name with the model a call is served by. A wildcard serves whatever spelling the client sends
 * (`GPT-4o` through `"*"` calls the upstream as `GPT-4o`, priced as gpt-4o; `openai/openai/gpt-4o`
 * through `"openai/*"` asks for `openai/gpt-4o`, an aggregator's name for gpt-4o), so a byte-for-byte
 * comparison let a restriction be dodged by respelling the model.
 */

/** A name as restrictions compare it. */
export function comparableModelName(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * A served model's name without case or any vendor prefix: `openai/gpt-4o` as an upstream model (an
 * aggregator's name, or `openai/openai/gpt-4o` through "openai/*") is gpt-4o.
 */
export function bareModelName(model: string): string {
  const name = comparableModelName(model);
  return name.slice(name.lastIndexOf('/') + 1);
}

/**
 * Adds the names a served model answers to: as given, and without a vendor prefix of its own, each
 * also with the deployment's provider (`OpenAI/OpenAI/GPT-4o` through "*" → `openai/*` is openai/gpt-4o).
 */
export function addServedModelNames(names: Set<string>, provider: string, model: string): void {
  const name = comparableModelName(model);
  const bare = bareModelName(name);
  names.add(name);
  names.add(`${provider}/${name}`);
  names.add(bare);
  names.add(`${provider}/${bare}`);
}
