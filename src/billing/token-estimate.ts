/**
 * The tokens a request is expected to use, reserved against tpm limits at admission and replaced
 * by the real count when the call settles. It runs on every request, so it is arithmetic on sizes
 * (no tokenizer): about four bytes of serialized input per token (the common ratio for English
 * text and JSON under OpenAI's and Anthropic's tokenizers), plus the output the client asked for
 * at most (max_tokens, times the completions generated). A request without max_tokens reserves
 * its input only; its real output is counted when it settles.
 */
import { generatedChoices, predictionTokenBound, promptTokenBound, type CostInput } from './max-cost.js';

const BYTES_PER_TOKEN = 4;

/** The prompt's part of the estimate (router_settings.enable_pre_call_checks compares it with context windows). */
export function estimatedPromptTokens(input: CostInput, promptBound = promptTokenBound(input)): number {
  return Math.ceil(promptBound / BYTES_PER_TOKEN);
}

/** `promptBound`: the input's promptTokenBound when the caller has it already (it walks the whole request). */
export function estimatedTokens(input: CostInput, promptBound?: number): number {
  const prompt = estimatedPromptTokens(input, promptBound);
  if (input.kind === 'embeddings') return prompt;
  const requested = input.body.max_completion_tokens ?? input.body.max_tokens;
  const output = typeof requested === 'number' && Number.isFinite(requested) && requested > 0 ? Math.ceil(requested) : 0;
  const prediction = Math.ceil(predictionTokenBound(input.body) / BYTES_PER_TOKEN);
  return prompt + (output + prediction) * generatedChoices(input.body);
}
