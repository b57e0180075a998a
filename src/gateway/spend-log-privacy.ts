/**
 * What usage rows may keep of a call's content, from three LiteLLM settings:
 * - general_settings.store_prompts_in_spend_logs — opt in to keeping the request messages and the
 *   response text (off by default);
 * - litellm_settings.turn_off_message_logging — never keep messages or response text, whatever
 *   store_prompts_in_spend_logs says;
 * - general_settings.disable_spend_logs — keep no content at all: no messages, response, metadata,
 *   request tags, end user, client address or error text. What every budget, limit and spend report
 *   needs stays: the call id and time, key / user / team, model group, deployment, provider,
 *   upstream model and base, token counts, cost, credits, status, error code, latencies, retries,
 *   fallbacks and flags. (LiteLLM drops the row entirely; here the row is the ledger spend totals
 *   are computed from, so it is kept without content.)
 */
import type { UsageLogRow } from '../storage/schema.js';
import type { GatewayConfig } from '../config/schema.js';

export interface SpendLogPrivacy {
  /** Keep the request messages and response text on the row. */
  storePrompts: boolean;
  /** Strip every content column from the row (disable_spend_logs). */
  withoutContent: boolean;
}

export function spendLogPrivacyOf(config: GatewayConfig): SpendLogPrivacy {
  const withoutContent = config.general_settings.disable_spend_logs === true;
  const messagesOff = withoutContent || config.litellm_settings.turn_off_message_logging === true;
  return { storePrompts: config.general_settings.store_prompts_in_spend_logs === true && !messagesOff, withoutContent };
}

/** The row with its content columns emptied (disable_spend_logs). */
export function withoutContent(row: UsageLogRow): UsageLogRow {
  return { ...row, messages: null, response: null, metadata: null, request_tags: null, end_user: null, requester_ip: null, error_message: null };
}
