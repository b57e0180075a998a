/**
 * The pages of a PDF sent inline (base64 or a data: URL), as the prompt bound counts them
 * (max-cost.ts): providers bill a PDF by its pages, not its bytes. Pages are read from the bytes
 * (page objects and page-tree references, in the body and in Flate-compressed object streams)
 * with bounded work, since this runs on the request path before admission.
 */
import { inflateSync } from 'node:zlib';

/**
 * Tokens a PDF page may be billed. Providers bill a PDF by its pages, not its bytes: Anthropic
 * reads each page as its text and an image of it (its PDF support docs: 1,500–3,000 tokens a
 * page), Gemini tokenizes each page as an image, OpenAI puts each page's text and image in the
 * context. A hundred empty pages are a 10 KB PDF, whose bytes alone held a sixth of Anthropic's bill.
 */
const PDF_PAGE_TOKENS = 3_000;
/** Pages held for a PDF whose object streams cannot be read: the most any provider reads of one (Gemini, 1,000). */
const UNREADABLE_PDF_PAGES = 1_000;
/**
 * The most a PDF's object streams are inflated to, all together (a few MB of objects hold thousands
 * of pages), per request: inflating runs on the request path, and a body of many small deflate
 * bombs (in one PDF or in many) must not hold the event loop for longer than a few milliseconds;
 * past it a PDF is held at UNREADABLE_PDF_PAGES.
 */
const OBJECT_STREAMS_LIMIT = 8 * 1024 * 1024;
/**
 * The most object streams inflated per request: each inflation has a fixed cost however small the
 * stream (a 5 MB body of 120,000 tiny streams held the event loop for 2 s); past it a PDF is held
 * at UNREADABLE_PDF_PAGES. Writers pack a hundred objects or more in each, so a real PDF of
 * thousands of pages has a few dozen.
 */
const OBJECT_STREAMS_COUNT_LIMIT = 1_000;
/** What the request whose prompt bound is being computed may still inflate (startPdfReading). */
let inflateLeft = OBJECT_STREAMS_LIMIT;
let streamsLeft = OBJECT_STREAMS_COUNT_LIMIT;

/** A new request's prompt bound begins (max-cost.ts computePromptTokenBound): its PDFs share one inflation limit. */
export function startPdfReading(): void {
  inflateLeft = OBJECT_STREAMS_LIMIT;
  streamsLeft = OBJECT_STREAMS_COUNT_LIMIT;
}
const PDF_DATA_URL = /^data:application\/pdf[;,]/i;
/** base64 of "%PDF": a PDF whatever its declared type. */
const PDF_MAGIC = 'JVBER';
/**
 * A page object (`/Type /Page`, not `/Pages`), its names possibly #-escaped (`/P#61ge` is `/Page`)
 * and comments between them; and the references of a page tree's `/Kids`, which readers follow
 * even to a page that omits its `/Type`.
 */
// A comment is `%` to the end of its line, its line break included: it can end nowhere else, so a
// match that fails never tries the ways a comment's spaces (or a run of `%`) could be split between
// comments and whitespace — each character is read once per match attempt, on hostile text too.
const PAGE_OBJECT = /\/(?:T|#54)(?:y|#79)(?:p|#70)(?:e|#65)(?:\s|%[^\r\n]*[\r\n])*\/(?:P|#50)(?:a|#61)(?:g|#67)(?:e|#65)(?![A-Za-z0-9#])/gi;
/** The opening of a page tree's `/Kids` array; its end is found with indexOf (a `[^\]]*\]` pattern re-read the rest of the text from every opening without one). */
const KIDS_OPEN = /\/Kids(?:\s|%[^\r\n]*[\r\n])*\[/g;

/**
 * The prompt tokens of an inline PDF's pages: `data` is base64 (with `mediaType`) or a data: URL;
 * 0 for anything else. Only PDFs are decoded, once; their page count is a scan of the bytes.
 */
export function pdfTokens(data: unknown, mediaType?: unknown): number {
  if (typeof data !== 'string') return 0;
  let base64 = data;
  let declared = typeof mediaType === 'string' && /^application\/pdf\b/i.test(mediaType);
  if (data.startsWith('data:')) {
    const comma = data.indexOf(',');
    if (comma === -1) return 0;
    declared = PDF_DATA_URL.test(data);
    base64 = data.slice(comma + 1);
  }
  if (!declared && !base64.startsWith(PDF_MAGIC)) return 0;
  return pdfPages(Buffer.from(base64, 'base64')) * PDF_PAGE_TOKENS;
}

/**
 * Pages of a PDF: its page objects, or the references of its page tree's `/Kids` when more, in its
 * body and in its (Flate-compressed) object streams.
 */
function pdfPages(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  const found = { objects: 0, kids: 0 };
  pagesIn(text, found);
  // PDF 1.5+ writers keep most objects, page objects included, in compressed object streams.
  for (let at = text.indexOf('/ObjStm'); at !== -1; at = text.indexOf('/ObjStm', at + 1)) {
    const keyword = text.indexOf('stream', at);
    const end = keyword === -1 ? -1 : text.indexOf('endstream', keyword + 6);
    if (end === -1) break;
    // Too many to inflate here: held at the most pages a provider reads.
    if (streamsLeft-- <= 0) return Math.max(found.objects, found.kids, UNREADABLE_PDF_PAGES);
    let start = keyword + 6;
    if (text[start] === '\r') start++;
    if (text[start] === '\n') start++;
    try {
      const objects = inflateSync(bytes.subarray(start, end), { maxOutputLength: inflateLeft });
      inflateLeft -= objects.length;
      pagesIn(objects.toString('latin1'), found);
    } catch {
      // Another filter, or too large to read here: held at the most pages a provider reads.
      return Math.max(found.objects, found.kids, UNREADABLE_PDF_PAGES);
    }
  }
  return Math.max(found.objects, found.kids);
}

function pagesIn(text: string, found: { objects: number; kids: number }): void {
  found.objects += text.match(PAGE_OBJECT)?.length ?? 0;
  KIDS_OPEN.lastIndex = 0;
  for (let match = KIDS_OPEN.exec(text); match !== null; match = KIDS_OPEN.exec(text)) {
    const open = match.index + match[0].length;
    const close = text.indexOf(']', open);
    // No `]` after this opening: none after any later one either.
    if (close === -1) break;
    found.kids += references(text, open, close);
    KIDS_OPEN.lastIndex = close + 1;
  }
}

const isSpace = (code: number): boolean => code === 32 || code === 10 || code === 13 || code === 9 || code === 12 || code === 0;
const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/** Indirect references (`12 0 R`) between `from` and `to`: the tokens read once, left to right (a regex on a long digit run backtracked quadratically). */
function references(text: string, from: number, to: number): number {
  let count = 0;
  /** Whole numbers read in a row just before (0, 1 or 2: an object number and a generation). */
  let numbers = 0;
  let at = from;
  while (at < to) {
    while (at < to && isSpace(text.charCodeAt(at))) at++;
    if (at >= to) break;
    const start = at;
    while (at < to && !isSpace(text.charCodeAt(at))) at++;
    let digits = true;
    for (let index = start; index < at && digits; index++) digits = isDigit(text.charCodeAt(index));
    if (digits) numbers = Math.min(2, numbers + 1);
    else {
      if (numbers === 2 && at - start === 1 && text.charCodeAt(start) === 82 /* R */) count++;
      numbers = 0;
    }
  }
  return count;
}
