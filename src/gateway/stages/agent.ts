/**
 * Agent: a call whose model is `agent/<name>` takes the agent's current settings before anything
 * else is decided — its model group, and where the client did not set them itself, its fallbacks,
 * temperature, max_tokens and system prompt. Placed before resolve, so the caller's key must still
 * be allowed to reach the agent's model and every fallback, and admission bounds the cost over
 * them. The agent is read from memory (agents/directory.ts); a paused agent is refused with 503
 * `agent_paused`, an unknown one with 404 `agent_not_found`. The call carries the agent's name down
 * to its usage row.
 */
import type { AgentDefinition } from '../../agents/definition.js';
import { agentNameOf } from '../../agents/definition.js';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../../providers/types.js';
import type { Operation } from '../call-context.js';
import { failedWith, type Stage } from '../call.js';

export interface AgentLookup {
  get(name: string): AgentDefinition | undefined;
}

export function agentStage(agents: AgentLookup | undefined): Stage {
  return (call, next) => {
    const model = call.operation.request.model;
    const name = agentNameOf(model);
    if (name === undefined) return next(call);
    const agent = agents?.get(name);
    if (!agent) {
      return Promise.reject(failedWith(new GatewayError('agent_not_found', `agent "${name}" does not exist; GET /agents lists the agents`, { param: 'model' }), { ...call, modelName: model }));
    }
    if (agent.status === 'paused') {
      return Promise.reject(failedWith(new GatewayError('agent_paused', `agent "${name}" is paused by an operator; POST /agents/${name}/resume serves it again`, { param: 'model' }), { ...call, modelName: agent.model, agent: name }));
    }
    if (call.operation.kind !== 'chat') {
      const error = new GatewayError('invalid_request', `agent "${name}" serves chat calls (/v1/chat/completions, /v1/messages), not ${call.context.endpoint}`, { param: 'model' });
      return Promise.reject(failedWith(error, { ...call, modelName: agent.model, agent: name }));
    }
    return next({ ...call, operation: withAgent(call.operation, agent), modelName: agent.model, agent: name });
  };
}

/**
 * The chat operation on a copy of its body with the agent's settings: the model always; fallbacks,
 * temperature, max_tokens (unless max_completion_tokens is set) and the system prompt (unless the
 * messages hold a system or developer message) only where the client did not set its own.
 */
export function withAgent(operation: Extract<Operation, { kind: 'chat' }>, agent: AgentDefinition): Operation {
  const request = { ...operation.request, model: agent.model } as ChatRequest & Record<string, unknown>;
  if (request.fallbacks == null && agent.fallbacks.length > 0) request.fallbacks = [...agent.fallbacks];
  if (request.temperature == null && agent.temperature !== null) request.temperature = agent.temperature;
  if (request.max_tokens == null && request.max_completion_tokens == null && agent.max_tokens !== null) request.max_tokens = agent.max_tokens;
  const messages = Array.isArray(request.messages) ? request.messages : [];
  const hasSystem = messages.some((message) => message.role === 'system' || message.role === 'developer');
  if (agent.system_prompt !== '' && !hasSystem) request.messages = [{ role: 'system', content: agent.system_prompt }, ...messages] as ChatRequest['messages'];
  return { kind: 'chat', request };
}
