/**
 * Guardrails on the answer (src/guardrails), right after the pre_call stage, before the mock, the
 * cache and routing. The post_call guardrails read a JSON answer where the attempt settles it
 * (stages/settle.ts runs `checkAnswer` before recording): a hit answers 400 `guardrail_violation`,
 * and as the provider billed the answer, the call is charged and its usage row names the guardrail.
 * A streamed answer is checked window by window (guardrails/stream-check.ts) and cut with an error
 * event. With `output_parse_pii`, the masked values are put back into the answer: a JSON body here,
 * a stream chunk by chunk (guardrails/stream-restore.ts). Answers not settled by an attempt (a cache
 * hit, a mock) are checked here. The x-switchboard-guardrails header lists what each guardrail did.
 */
import { GatewayError } from '../../errors.js';
import { answerCheck, type GuardrailOutcome } from '../../guardrails/checks.js';
import type { GuardrailDefinition } from '../../guardrails/definitions.js';
import { askExternal } from '../../guardrails/external.js';
import type { PiiVault } from '../../guardrails/pii.js';
import { checkedFormat } from '../../guardrails/stream-check.js';
import { restoringFormat } from '../../guardrails/stream-restore.js';
import { answerTexts } from '../../guardrails/texts.js';
import type { GatewayResult } from '../call-context.js';
import { type Call, failedWith, type GuardrailRun, type Next, type Stage } from '../call.js';

const POST = (guardrail: GuardrailDefinition) => guardrail.modes.includes('post_call');

export function guardrailPostCallStage(): Stage {
  // A call without guardrails passes straight on (no promise of this stage's own).
  return (call, next) => (call.guardrails ? postCall(call, next, call.guardrails) : next(call));
}

async function postCall(call: Call, next: Next, run: GuardrailRun): Promise<GatewayResult> {
  const outcomes = (call.context.guardrails ??= []);
  const post = run.active.filter(POST);
  const externalPost = post.find((guardrail) => guardrail.external);
  // Refused after admit: the failure carries this call, so its record releases the reservations and in-flight slot.
  if (call.stream && externalPost) throw failedWith(new GatewayError('invalid_request', `post_call guardrail "${externalPost.name}" (generic_guardrail_api) checks whole answers, not streamed ones, so the stream is not started; call without "stream"`, { param: 'guardrails' }), call);
  let format = call.format;
  if (call.stream && run.restore) format = restoringFormat(format, run.restore, () => outcomes.push({ name: maskingGuardrail(outcomes), stage: 'post_call', action: 'restored' }));
  // Checked before restoring: the guardrails read what the model wrote, not the caller's own values.
  let cut: GatewayError | undefined;
  if (call.stream && post.length > 0) format = checkedFormat(format, (text) => streamViolation(post, text, outcomes), undefined, (error) => (cut = error));
  let checked = false;
  const checkAnswer =
    post.length > 0
      ? (body: string) => {
          checked = true;
          return checkJson(call, body, post, outcomes);
        }
      : undefined;
  const result = await next(format === call.format && !checkAnswer ? call : { ...call, format, guardrails: { ...run, checkAnswer, streamRefusal: () => cut } });
  if (result.kind !== 'json' || result.status !== 200) return withHeader(result, outcomes);
  let body = result.body;
  if (checkAnswer && !checked) body = await checkJson(call, body, post, outcomes);
  if (run.restore) body = restoreJson(body, run.restore, outcomes);
  return withHeader(body === result.body ? result : { ...result, body }, outcomes);
}

/** The first post_call guardrail the streamed text so far breaks (kept as an outcome), or undefined. */
function streamViolation(post: GuardrailDefinition[], text: string, outcomes: GuardrailOutcome[]): GatewayError | undefined {
  for (const guardrail of post) {
    try {
      answerCheck(guardrail, [text]);
    } catch (error) {
      outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'blocked', detail: (error as Error).message });
      return error as GatewayError;
    }
  }
  return undefined;
}

/** Runs the post_call guardrails on a JSON answer: the body to send (a generic API may rewrite it), or throws the violation. */
async function checkJson(call: Call, body: string, post: GuardrailDefinition[], outcomes: GuardrailOutcome[]): Promise<string> {
  for (const guardrail of post) {
    const texts = answerTexts(JSON.parse(body));
    try {
      if (guardrail.external) {
        const verdict = await askExternal(guardrail, texts, 'response', call.context, call.operation.request.model);
        if (verdict.action === 'GUARDRAIL_INTERVENED') texts.forEach((text, index) => (body = body.split(escaped(text)).join(escaped(verdict.texts[index]))));
        outcomes.push({ name: guardrail.name, stage: 'post_call', action: verdict.action === 'GUARDRAIL_INTERVENED' ? 'modified' : 'passed', detail: verdict.action === 'UNREACHABLE' ? `unchecked (fail_open): ${verdict.reason}` : undefined });
        continue;
      }
      answerCheck(guardrail, texts);
      outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'passed' });
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'guardrail_violation') outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'blocked', detail: error.message });
      throw error;
    }
  }
  return body;
}

function restoreJson(body: string, vault: PiiVault, outcomes: GuardrailOutcome[]): string {
  const restored = body.replace(/<[A-Z0-9_]+_\d+>/g, (placeholder) => {
    const original = vault.originals.get(placeholder);
    return original === undefined ? placeholder : escaped(original);
  });
  if (restored !== body) outcomes.push({ name: maskingGuardrail(outcomes), stage: 'post_call', action: 'restored' });
  return restored;
}

function maskingGuardrail(outcomes: GuardrailOutcome[]): string {
  return outcomes.find((outcome) => outcome.action === 'masked')?.name ?? 'pii';
}

/** A text as it appears inside a JSON string. */
function escaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function withHeader(result: GatewayResult, outcomes: GuardrailOutcome[]): GatewayResult {
  const value = outcomes.map((outcome) => `${outcome.name}=${outcome.action}${outcome.action === 'masked' ? `(${outcome.detail})` : ''}`).join(', ');
  if (value) result.headers['x-switchboard-guardrails'] = value;
  return result;
}
