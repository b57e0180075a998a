/**
 * Built-in content checks on text: blocked words (whole words, case-insensitive), blocked regular
 * expressions, denied topics by keyword, and a prompt-injection heuristic scored 0..1. Each answers
 * the reason a text is refused, or undefined.
 */
import type { ContentFilterSettings } from './definitions.js';
import { detectionText } from './pii.js';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const wordPatterns = new WeakMap<readonly string[], RegExp>();

function wordPattern(words: readonly string[]): RegExp {
  let pattern = wordPatterns.get(words);
  if (!pattern) {
    pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.map(escape).join('|')})(?![\\p{L}\\p{N}_])`, 'iu');
    wordPatterns.set(words, pattern);
  }
  return pattern;
}

/**
 * Why the text is refused by the filter's word, pattern and topic lists; undefined when it passes.
 * Words written to slip past the lists (full-width letters, zero-width characters or soft hyphens
 * inside) are read as what they stand for, as the PII detector reads them.
 */
export function contentViolation(text: string, filter: ContentFilterSettings): string | undefined {
  const reason = listViolation(text, filter);
  if (reason) return reason;
  const read = detectionText(text);
  return read === text ? undefined : listViolation(read, filter);
}

function listViolation(text: string, filter: ContentFilterSettings): string | undefined {
  if (filter.blockedWords.length > 0) {
    const match = wordPattern(filter.blockedWords).exec(text);
    if (match) return `contains the blocked word "${match[0]}"`;
  }
  for (const pattern of filter.blockedPatterns) if (pattern.test(text)) return `matches the blocked pattern /${pattern.source}/`;
  for (const topic of filter.deniedTopics) {
    if (wordPattern(topic.keywords).test(text)) return `is about the denied topic "${topic.name}"`;
  }
  return undefined;
}

/** Phrases typical of attempts to override a model's instructions, each with its weight. */
const INJECTION_SIGNALS: Array<[RegExp, number]> = [
  [/\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|all|your|system)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules?|directions?|guidelines?)\b/i, 0.6],
  [/\b(?:reveal|print|show|repeat|output|tell me)\b[^.\n]{0,40}\b(?:system prompt|hidden (?:prompt|instructions)|initial instructions|your instructions)\b/i, 0.5],
  [/\byou are (?:now|no longer)\b/i, 0.3],
  [/\b(?:act as|pretend (?:to be|you are)|roleplay as)\b[^.\n]{0,40}\b(?:unrestricted|unfiltered|jailbroken|DAN|without (?:any )?(?:rules|restrictions|filters))\b/i, 0.5],
  [/\b(?:developer|god|jailbreak|DAN) mode\b/i, 0.4],
  [/\bdo anything now\b/i, 0.4],
  [/\b(?:no|without) (?:ethical |moral )?(?:restrictions|limitations|filters|guidelines)\b/i, 0.25],
  [/^\s*(?:system|assistant)\s*:/im, 0.3],
  [/<\/?(?:system|im_start|im_end)\b|\[\/?INST\]/i, 0.4],
  [/\bnew instructions?\s*:/i, 0.35],
];

/** The heuristic injection score of a text, 0 (none of the signals) to 1. */
export function injectionScore(text: string): number {
  // Read as written and as the detectors read it (a zero-width character may stand between words or inside one).
  const read = detectionText(text);
  return read === text ? signalScore(text) : Math.max(signalScore(text), signalScore(read));
}

function signalScore(text: string): number {
  let score = 0;
  for (const [pattern, weight] of INJECTION_SIGNALS) if (pattern.test(text)) score += weight;
  return Math.min(1, Math.round(score * 100) / 100);
}
