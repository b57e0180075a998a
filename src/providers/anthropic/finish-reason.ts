/** Anthropic `stop_reason` to OpenAI `finish_reason`. */
export function finishReasonFromStopReason(stopReason: string | null | undefined): string | null {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    // pause_turn: a server tool's long turn was paused; the answer so far is complete as a turn.
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      // A stop reason added after this adapter was written: the turn did end.
      return 'stop';
  }
}
