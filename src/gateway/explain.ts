/**
 * Explains a call without making it: runs the very stages that decide where a call goes (the
 * routing rules, then resolve) and stops before admission, so nothing is reserved, called or
 * recorded. What it answers is what the real call would decide at this moment.
 */
import type { CallContext, Operation } from './call-context.js';
import { compose, newCall, type Call } from './call.js';
import type { GatewayDependencies } from './dependencies.js';
import { openAIResponseFormat } from './response-format.js';
import { resolveStage } from './stages/resolve.js';
import { rulesStage } from './stages/rules.js';

export async function explainCall(deps: Pick<GatewayDependencies, 'catalog' | 'platform' | 'router' | 'logger'>, context: CallContext, operation: Operation): Promise<Call> {
  let decided: Call | undefined;
  const run = compose([rulesStage(deps), resolveStage(deps)], async (call) => {
    decided = call;
    return { kind: 'json', status: 200, headers: {}, body: '' };
  });
  await run(newCall({ context, operation, format: openAIResponseFormat, stream: false }));
  return decided!;
}
