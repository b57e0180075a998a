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
/** What the request whose prompt bound is being computed may still inflate (startPdfReading). */
let inflateLeft = OBJECT_STREAMS_LIMIT;

/** A new request's prompt bound begins (max-cost.ts computePromptTokenBound): its PDFs share one inflation limit. */
export function startPdfReading(): void {
  inflateLeft = OBJECT_STREAMS_LIMIT;
}
const PDF_DATA_URL = /^data:application\/pdf[;,]/i;
/** base64 of "%PDF": a PDF whatever its declared type. */
const PDF_MAGIC = 'JVBER';
/**
 * A page object (`/Type /Page`, not `/Pages`), its names possibly #-escaped (`/P#61ge` is `/Page`)
 * and comments between them; and the references of a page tree's `/Kids`, which readers follow
 * even to a page that omits its `/Type`.
 */
// A comment is `%` to the end of its line; written without `%` inside ([^\r\n%]) so that a run of
// `%` cannot be split between repetitions in exponentially many ways when the match then fails.
const PAGE_OBJECT = /\/(?:T|#54)(?:y|#79)(?:p|#70)(?:e|#65)(?:\s|%[^\r\n%]*)*\/(?:P|#50)(?:a|#61)(?:g|#67)(?:e|#65)(?![A-Za-z0-9#])/gi;
const KIDS = /\/Kids(?:\s|%[^\r\n%]*)*\[([^\]]*)\]/g;
const REFERENCE = /\d+\s+\d+\s+R/g;

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
  for (const match of text.matchAll(KIDS)) found.kids += match[1].match(REFERENCE)?.length ?? 0;
}
