/**
 * The usage a call is billed for: the upstream's report when it is plausible, else (per field) the
 * local count — see billing/usage-bounds.ts for the bounds. The local count (the tokenizer) runs
 * only when a report is out of bounds.
 */
import type { CostInput } from '../billing/max-cost.js';
import { boundUsage, exceedsLimits, usageLimits, type AdjustedField } from '../billing/usage-bounds.js';
import type { Deployment, Usage } from '../providers/types.js';

export async function settleUsage(input: CostInput, deployment: Deployment, reported: Usage | undefined, countLocally: () => Promise<Usage>): Promise<{ usage: Usage | undefined; adjusted: AdjustedField[] }> {
  // The gateway's own counts go through the bounds too: a stream's text counted with another
  // tokenizer than the provider's may come out above max_tokens, and is then held to it.
  if (!reported) return { usage: reported, adjusted: [] };
  const limits = usageLimits(input, deployment, reported.promptTokens);
  if (!exceedsLimits(reported, limits)) return { usage: reported, adjusted: [] };
  const local = await countLocally();
  return boundUsage(reported, limits, { promptTokens: local.promptTokens ?? 0, completionTokens: local.completionTokens ?? 0 });
}
