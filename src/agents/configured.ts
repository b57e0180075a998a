/** config.yaml's `agents:` section as checked agent definitions; a bad entry stops start-up, naming it. */
import type { z } from 'zod';
import type { agentsConfigSchema } from './definition.js';
import { agentFromCreate, type AgentDefinition } from './definition.js';

export function configuredAgents(entries: z.infer<typeof agentsConfigSchema> | undefined): AgentDefinition[] {
  const seen = new Set<string>();
  return (entries ?? []).map((entry, index) => {
    let agent: AgentDefinition;
    try {
      agent = agentFromCreate(entry);
    } catch (error) {
      throw new Error(`agents[${index}] (${entry.name}): ${(error as Error).message}`);
    }
    if (seen.has(agent.name)) throw new Error(`agents[${index}]: the name "${agent.name}" is used twice`);
    seen.add(agent.name);
    return agent;
  });
}
