/**
 * Some fields of a mapped /v1/messages request are translations the client never chose in OpenAI
 * terms: `user` (from metadata.user_id), `parallel_tool_calls` (from disable_parallel_tool_use),
 * `thinking` next to its `reasoning_effort` equivalent, and signed `thinking_blocks`. Sent to a
 * provider that cannot take them, the pipeline's parameter policy would refuse the call with a 400
 * about a parameter the client did not send (Claude Code sets metadata.user_id on every request).
 * So, knowing which parameters the model group's deployments take (their adapters'
 * `supportedParams`; undefined means "passes everything through"), this keeps the form the group
 * can take and leaves everything else to the pipeline's policy:
 * - `user` and `parallel_tool_calls` are dropped, with a warning, when no deployment takes them;
 * - thinking is sent as `thinking` only to adapters that declare it (pass-through upstreams speak
 *   OpenAI, which has no such parameter), else as `reasoning_effort`;
 *   "adaptive" and "disabled" thinking are dropped where no deployment takes `thinking` (enabled
 *   thinking that no deployment can do is left for the policy to refuse, as the client should know);
 * - `thinking_blocks` are kept only when some deployment declares `thinking` (an Anthropic-style
 *   adapter): a pass-through upstream would receive a message field it does not know.
 * - `cache_control` (prompt-cache breakpoints) likewise: strict OpenAI-format upstreams refuse the
 *   unknown field, and none of them takes breakpoints; the warning says they were not sent.
 *   Adapters that keep them but cannot honour them (Bedrock) say so through chatRequestWarnings.
 */
import { isJsonObject } from '../../../json-object.js';
import type { ChatMessage, ChatRequest } from '../../../providers/types.js';

function withoutKey<T>(value: T): T {
  if (!isJsonObject(value) || !('cache_control' in value)) return value;
  const { cache_control: _dropped, ...rest } = value;
  return rest as T;
}

/** The request without any `cache_control` (on content parts, messages, tool calls and tools); undefined when it had none. */
function withoutCacheControl(request: ChatRequest): ChatRequest | undefined {
  let found = false;
  const strip = <T>(value: T): T => {
    const stripped = withoutKey(value);
    if (stripped !== value) found = true;
    return stripped;
  };
  const messages = request.messages.map((message) => {
    const stripped: ChatMessage = strip(message);
    const content = Array.isArray(stripped.content) ? stripped.content.map(strip) : stripped.content;
    const toolCalls = stripped.tool_calls?.map(strip);
    return { ...stripped, content, ...(toolCalls ? { tool_calls: toolCalls } : {}) };
  });
  const tools = request.tools?.map(strip);
  if (!found) return undefined;
  return { ...request, messages, ...(tools ? { tools } : {}) };
}

/** Anthropic's names for the hints, for warnings the client can act on. */
const HINTS: Array<{ field: 'user' | 'parallel_tool_calls'; source: string }> = [
  { field: 'user', source: 'metadata.user_id' },
  { field: 'parallel_tool_calls', source: 'tool_choice.disable_parallel_tool_use' },
];

export function fitToDeployments(request: ChatRequest, supported: Array<ReadonlySet<string> | undefined>): { request: ChatRequest; warnings: string[] } {
  if (supported.length === 0) return { request, warnings: [] };
  const takes = (field: string) => supported.some((set) => set === undefined || set.has(field));
  const declares = (field: string) => supported.some((set) => set?.has(field) === true);
  const fitted: ChatRequest = { ...request };
  const warnings: string[] = [];

  for (const { field, source } of HINTS) {
    if (fitted[field] === undefined || takes(field)) continue;
    delete fitted[field];
    warnings.push(`ignored "${source}": the model's provider has no equivalent`);
  }
  // `thinking` is not an OpenAI parameter: pass-through (OpenAI-compatible) upstreams would refuse it,
  // so only adapters that declare it get it; the others get reasoning_effort.
  if (fitted.thinking !== undefined && !declares('thinking')) {
    const type = (fitted.thinking as { type?: unknown }).type;
    if (fitted.reasoning_effort !== undefined && takes('reasoning_effort')) delete fitted.thinking;
    // "adaptive" leaves thinking to the model, which is what every model does by default.
    else if (type === 'adaptive') delete fitted.thinking;
    else if (type === 'disabled') {
      delete fitted.thinking;
      warnings.push('ignored "thinking": {"type":"disabled"}: the model\'s provider has no switch to turn thinking off');
    }
  }
  // Where reasoning_effort cannot go, `thinking` (kept) is the parameter the client knows it sent.
  if (fitted.thinking !== undefined && fitted.reasoning_effort !== undefined && !takes('reasoning_effort')) delete fitted.reasoning_effort;
  if (!declares('thinking') && fitted.messages.some((message) => message.thinking_blocks !== undefined)) {
    fitted.messages = fitted.messages.map((message) => {
      if (message.thinking_blocks === undefined) return message;
      const { thinking_blocks: _dropped, ...rest } = message;
      return rest as typeof message;
    });
  }
  if (!declares('thinking')) {
    const stripped = withoutCacheControl(fitted);
    if (stripped) {
      warnings.push('ignored "cache_control": the model\'s provider takes no prompt-cache breakpoints (it may cache on its own), so they were not sent');
      return { request: stripped, warnings };
    }
  }
  return { request: fitted, warnings };
}
