/**
 * Makes an upstream's error text safe to show a client or store on a usage row. Upstreams echo
 * what they were sent ("Incorrect API key provided: sk-…"), and an admin-configured api_base may
 * reach an internal page whose HTML says more than it should. So: the deployment's own credentials
 * are removed exactly, anything shaped like a credential is removed by pattern, markup is reduced
 * to its text, and the result is capped.
 */

/** Longest upstream error text passed on; enough for any real provider message. */
export const MAX_UPSTREAM_MESSAGE_LENGTH = 1000;

const REDACTED = '[redacted]';

/** Credentials shorter than this are not matched exactly: "abc" would mangle ordinary words. */
const MIN_EXACT_SECRET_LENGTH = 6;

/** Names whose value is a credential whatever it looks like ("api_key: …", "password=…"). */
const CREDENTIAL_NAMES = 'api[_-]?key|apikey|x-api-key|x-goog-api-key|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret|secret[_-]?key|password|passwd|authorization';

/**
 * Credential shapes, each replaced whole or in its value part. Ordered so that the most specific
 * pattern (a scheme followed by a token) runs before the generic long-token ones.
 */

const CREDENTIAL_PATTERNS: ReadonlyArray<{ pattern: RegExp; replace: string }> = [
  // Authorization schemes followed by their token: "Bearer sk-…", "Basic dXNlcjpwYXNz".
  { pattern: /\bBearer\s+[A-Za-z0-9._~+/=:-]{4,}/gi, replace: `Bearer ${REDACTED}` },
  { pattern: /\bBasic\s+(?=[A-Za-z0-9+/]*[0-9=])[A-Za-z0-9+/]{8,}={0,2}/gi, replace: `Basic ${REDACTED}` },
  // "api_key: …", "password=…", '"x-api-key": "…"': the name says credential, whatever the value looks like.
  { pattern: new RegExp(`\\b((?:${CREDENTIAL_NAMES})["']?\\s*[=:]\\s*["']?)[^\\s"'&,;)}\\]]+`, 'gi'), replace: `$1${REDACTED}` },
  // Query parameters of URLs: ?key=…, &token=…, &sig=… (a key in a URL is a credential).
  { pattern: /([?&;](?:key|token|sig|signature|secret|code|auth|access_token|api_key|apikey)=)[^\s&#"']+/gi, replace: `$1${REDACTED}` },
  // Provider key prefixes: OpenAI / Anthropic / many compatible servers ("sk-…", "sk-ant-…", "sk-proj-…").
  { pattern: /\bsk-[A-Za-z0-9_*-]{6,}/g, replace: REDACTED },
  // Google API keys.
  { pattern: /\bAIza[0-9A-Za-z_-]{30,}/g, replace: REDACTED },
  // AWS access key ids.
  { pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, replace: REDACTED },
  // GitHub, Slack, Hugging Face, Groq, xAI tokens.
  { pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|hf_[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,})/g, replace: REDACTED },
  // JSON Web Tokens.
  { pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: REDACTED },
  // Long hex runs (32+): secrets, signatures, session ids.
  { pattern: /\b[0-9a-fA-F]{32,}\b/g, replace: REDACTED },
  // Long base64 / base64url runs (40+) mixing upper case, lower case and digits: AWS secret keys,
  // opaque tokens. Resource paths ("projects/my-project/locations/us-central1") rarely mix cases.
  { pattern: /(?<![A-Za-z0-9+/_-])(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[a-z])(?=[A-Za-z0-9+/_-]*[A-Z])[A-Za-z0-9+/_-]{40,}={0,2}/g, replace: REDACTED },
];

/** Upstream text with credentials removed, markup stripped and the length capped. */
export function redactUpstreamMessage(text: string, secrets: ReadonlyArray<string | undefined> = [], maxLength = MAX_UPSTREAM_MESSAGE_LENGTH): string {
  let result = looksLikeMarkup(text) ? stripMarkup(text) : text;
  result = removeExactSecrets(result, secrets);
  for (const { pattern, replace } of CREDENTIAL_PATTERNS) result = result.replace(pattern, replace);
  result = result.replace(/\s+/g, ' ').trim();
  return capLength(result, maxLength);
}

/** Configured header names that carry credentials (custom auth headers of self-hosted servers). */
const CREDENTIAL_HEADER = /auth|key|token|secret|signature|cookie|password/i;

/**
 * The credentials a deployment sends upstream: its api_key and the values of its configured
 * credential headers, for exact removal (they may have any shape, so patterns cannot be trusted).
 */
export function deploymentSecrets(deployment: { apiKey?: string; headers?: Record<string, string>; aws?: { secretAccessKey: string; sessionToken?: string } }): string[] {
  const secrets: string[] = [];
  if (deployment.apiKey) secrets.push(deployment.apiKey);
  if (deployment.aws) {
    secrets.push(deployment.aws.secretAccessKey);
    if (deployment.aws.sessionToken) secrets.push(deployment.aws.sessionToken);
  }
  for (const [name, value] of Object.entries(deployment.headers ?? {})) {
    if (!CREDENTIAL_HEADER.test(name)) continue;
    secrets.push(value);
    // "Bearer xyz": the token alone may be echoed too.
    const token = /^\S+\s+(\S+)$/.exec(value.trim())?.[1];
    if (token) secrets.push(token);
  }
  return secrets;
}

function removeExactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  // Longest first, so that a key containing another key is removed whole.
  const ordered = [...new Set(secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= MIN_EXACT_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  for (const secret of ordered) result = result.split(secret).join(REDACTED);
  return result;
}

function looksLikeMarkup(text: string): boolean {
  return /<\s*(?:!doctype|html|head|body|title|div|p|h[1-6]|pre|script|style|center|hr|br|a|span|table)\b/i.test(text);
}

/** The visible text of an HTML page: scripts, styles and comments dropped, tags removed, entities decoded. */
function stripMarkup(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<\/?[A-Za-z!][^>]*>/g, ' ')
      // An unterminated tag at the end (a truncated page).
      .replace(/<[A-Za-z!/][^>]*$/, ' '),
  );
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}

function capLength(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  return `${text.slice(0, Math.max(0, maxLength - 1))}…`;
}

/** A copy of a parsed upstream error whose message is redacted (redactUpstreamMessage). */
export function withRedactedMessage<T extends { message: string }>(info: T, secrets: ReadonlyArray<string | undefined>): T {
  return { ...info, message: redactUpstreamMessage(info.message, secrets) };
}
