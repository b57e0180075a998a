/**
 * Built-in PII detection (no external service): e-mail addresses, phone numbers, credit-card numbers
 * (Luhn-checked), IBANs (ISO 13616 mod-97 checksum), IPv4/IPv6 addresses, and operator patterns
 * (national ids). Entity names are Presidio's, so LiteLLM's `pii_entities_config` reads the same.
 * Found values are replaced by numbered placeholders (`<EMAIL_ADDRESS_1>`); the map back to the
 * originals restores them in an answer (`output_parse_pii`).
 */
import { isIP } from 'node:net';

export const PII_ENTITIES = ['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'IBAN_CODE', 'IP_ADDRESS'] as const;
export type PiiEntity = (typeof PII_ENTITIES)[number];
export type PiiAction = 'mask' | 'block';

export interface PiiFinding {
  entity: string;
  start: number;
  end: number;
  value: string;
}

// The local part and the labels bounded as RFC 5321 bounds them (64 and 63 characters): unbounded,
// a long run of such characters without an `@` was re-read from each of its positions (30 KB of
// letters held the event loop for 1.6 s).
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b/g;
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;
const IPV6 = /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])/g;
// An international number (+, 7-15 digits) or a national one written with separators or parentheses.
const PHONE = /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{1,4}){1,4}|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{1,4}[ ./-]\d{2,4}(?:[ ./-]\d{2,4}){1,3})(?![\w-])/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

const IBAN_LENGTHS: Record<string, number> = { AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18, FR: 27, GB: 22, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24, SM: 27, TR: 26 };

export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, '');
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected !== undefined ? iban.length !== expected : iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= 'A' && char <= 'Z' ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** One detector's findings, in order and without overlaps among themselves (a global pattern's matches), added as a group of their own. */
function collect(text: string, pattern: RegExp, entity: string, accept: (value: string) => boolean, into: PiiFinding[][]): void {
  pattern.lastIndex = 0;
  const group: PiiFinding[] = [];
  for (const match of text.matchAll(pattern)) {
    const value = match[0];
    if (accept(value)) group.push({ entity, start: match.index!, end: match.index! + value.length, value });
  }
  if (group.length > 0) into.push(group);
}

function digitCount(value: string): number {
  let count = 0;
  for (const char of value) if (char >= '0' && char <= '9') count++;
  return count;
}

/**
 * Every PII value in `text` for the entity types asked for, without overlaps (earlier detectors win).
 * Values written to slip past the patterns — full-width digits and letters (`４１１１`, `＠`), or
 * zero-width and other format characters inside them — are read as what they stand for: the text is
 * searched in its NFKC form without format characters, and each finding is mapped back to the span
 * of the original text it came from (so masking replaces exactly what was written).
 */
export function findPii(text: string, entities: ReadonlySet<string>, patterns: ReadonlyArray<{ entity: string; regex: RegExp }> = []): PiiFinding[] {
  const normal = normalizedForDetection(text);
  if (!normal) return findIn(text, entities, patterns);
  return findIn(normal.text, entities, patterns).map((finding) => {
    const first = pieceAt(normal.pieces, finding.start);
    const last = pieceAt(normal.pieces, finding.end - 1);
    const start = first.same ? first.from + (finding.start - first.at) : first.from;
    const end = last.same ? last.from + (finding.end - last.at) : last.to;
    return { entity: finding.entity, start, end, value: text.slice(start, end) };
  });
}

/**
 * The text as the detectors read it (each character NFKC-normalized, format characters left out),
 * for checks that need no span back into the original (content filters, injection heuristics).
 */
export function detectionText(text: string): string {
  return normalizedForDetection(text)?.text ?? text;
}

const NON_ASCII = /[^\x00-\x7f]/;
/**
 * Cyrillic and Greek letters drawn like Latin ones, which NFKC leaves alone: "p\u0430ssword" (a
 * Cyrillic а) reads as "password" to a model and to a reader, so detection reads it so too. Only
 * letters that look the same in common fonts; a word written wholly in such letters (Russian "сор")
 * reads as its Latin look-alike ("cop") — the price of catching the mixed spellings.
 */
const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic
  а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', ѕ: 's', і: 'i', ј: 'j', ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ӏ: 'l', ү: 'y',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', Ѕ: 'S', І: 'I', Ј: 'J', Ү: 'Y', Ԛ: 'Q', Ԝ: 'W', Ӏ: 'I',
  // Greek
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', ι: 'i', κ: 'k', υ: 'u', χ: 'x',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  // Latin letters without their dot
  ı: 'i', ȷ: 'j',
};
/** Code points detection may read otherwise: those NFKC (or case folding) changes, format characters and look-alikes; not A-Z. */
const MAY_READ_OTHERWISE = new RegExp(`(?![A-Z])[\\p{Changes_When_NFKC_Casefolded}\\p{Cf}${Object.keys(LOOK_ALIKES).join('')}]`, 'gu');
const FORMAT_CHARACTER = /^\p{Cf}$/u;

/** A run of the text detection reads (from `at`) and the span of the original it came from: the same characters, or one code point read otherwise. */
interface Piece {
  at: number;
  from: number;
  to: number;
  same: boolean;
}

/**
 * The text as detection reads it — each code point NFKC-normalized on its own, format characters
 * (Unicode category Cf: zero-width space and joiners, soft hyphen, bidi marks) left out — and the
 * pieces that map it back to the original; undefined when that is the text itself.
 */
function normalizedForDetection(text: string): { text: string; pieces: Piece[] } | undefined {
  if (!NON_ASCII.test(text)) return undefined;
  const pieces: Piece[] = [];
  let out = '';
  let last = 0;
  for (const match of text.matchAll(MAY_READ_OTHERWISE)) {
    const char = match[0];
    const form = detectionForm(char);
    if (form === char) continue;
    const index = match.index!;
    if (index > last) {
      pieces.push({ at: out.length, from: last, to: index, same: true });
      out += text.slice(last, index);
    }
    if (form.length > 0) pieces.push({ at: out.length, from: index, to: index + char.length, same: false });
    out += form;
    last = index + char.length;
  }
  if (last === 0) return undefined;
  if (last < text.length) {
    pieces.push({ at: out.length, from: last, to: text.length, same: true });
    out += text.slice(last);
  }
  return { text: out, pieces };
}

/** The piece that holds this offset of the text detection read. */
function pieceAt(pieces: readonly Piece[], offset: number): Piece {
  let low = 0;
  let high = pieces.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (pieces[middle].at <= offset) low = middle;
    else high = middle - 1;
  }
  return pieces[low];
}

/** What detection reads for one code point, remembered (texts repeat their characters). */
const detectionForms = new Map<string, string>();

function detectionForm(char: string): string {
  let form = detectionForms.get(char);
  if (form === undefined) {
    form = FORMAT_CHARACTER.test(char) ? '' : lookAlikesRead(char.normalize('NFKC'));
    if (detectionForms.size >= 4096) detectionForms.clear();
    detectionForms.set(char, form);
  }
  return form;
}

function lookAlikesRead(text: string): string {
  let out = '';
  for (const char of text) out += LOOK_ALIKES[char] ?? char;
  return out;
}

function findIn(text: string, entities: ReadonlySet<string>, patterns: ReadonlyArray<{ entity: string; regex: RegExp }>): PiiFinding[] {
  const found: PiiFinding[][] = [];
  // Order matters: specific, checksummed shapes first, so a card is not also read as a phone number.
  for (const pattern of patterns) if (entities.has(pattern.entity)) collect(text, pattern.regex, pattern.entity, () => true, found);
  if (entities.has('EMAIL_ADDRESS')) collect(text, EMAIL, 'EMAIL_ADDRESS', () => true, found);
  if (entities.has('IBAN_CODE')) collect(text, IBAN, 'IBAN_CODE', ibanValid, found);
  if (entities.has('CREDIT_CARD')) collect(text, CARD, 'CREDIT_CARD', (value) => luhnValid(value.replace(/[ -]/g, '')), found);
  if (entities.has('IP_ADDRESS')) {
    collect(text, IPV4, 'IP_ADDRESS', (value) => isIP(value) === 4, found);
    collect(text, IPV6, 'IP_ADDRESS', (value) => isIP(value) === 6, found);
  }
  if (entities.has('PHONE_NUMBER')) collect(text, PHONE, 'PHONE_NUMBER', (value) => digitCount(value) >= 7 && digitCount(value) <= 15, found);
  // Earlier detectors win an overlap: each group is swept once against what the earlier ones kept
  // (both in order), then merged in — linear in the findings (a check of every finding against every
  // kept one held the event loop for 1.4 s on 20,000 addresses).
  let kept: PiiFinding[] = [];
  for (const group of found) {
    const accepted: PiiFinding[] = [];
    let next = 0;
    for (const finding of group) {
      while (next < kept.length && kept[next].end <= finding.start) next++;
      if (next < kept.length && kept[next].start < finding.end) continue;
      accepted.push(finding);
    }
    kept = mergeByStart(kept, accepted);
  }
  return kept;
}

function mergeByStart(a: PiiFinding[], b: PiiFinding[]): PiiFinding[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const merged: PiiFinding[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) merged.push(j >= b.length || (i < a.length && a[i].start <= b[j].start) ? a[i++] : b[j++]);
  return merged;
}

/** Placeholders handed out in one call, so one value gets one placeholder across all messages. */
export class PiiVault {
  private readonly byValue = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  readonly originals = new Map<string, string>();

  placeholder(entity: string, value: string): string {
    const known = this.byValue.get(`${entity}\u0000${value}`);
    if (known) return known;
    const count = (this.counts.get(entity) ?? 0) + 1;
    this.counts.set(entity, count);
    const placeholder = `<${entity}_${count}>`;
    this.byValue.set(`${entity}\u0000${value}`, placeholder);
    this.originals.set(placeholder, value);
    return placeholder;
  }

  /** The text with every placeholder this vault handed out put back to its original value. */
  restore(text: string): string {
    if (this.originals.size === 0) return text;
    return text.replace(/<[A-Z0-9_]+_\d+>/g, (placeholder) => this.originals.get(placeholder) ?? placeholder);
  }
}

export function maskText(text: string, findings: readonly PiiFinding[], vault: PiiVault): string {
  let out = '';
  let at = 0;
  for (const finding of findings) {
    out += text.slice(at, finding.start) + vault.placeholder(finding.entity, finding.value);
    at = finding.end;
  }
  return out + text.slice(at);
}
