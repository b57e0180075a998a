/**
 * Request bodies as JSON, refused with 400 when they nest objects and arrays deeper than
 * MAX_JSON_DEPTH. JSON.parse itself copes with any depth, but every later recursive walk of the
 * body (validation, JSON.stringify for an upstream, token counting) would overflow the stack on a
 * body nested ten thousand levels deep and answer 500. The depth is found by one linear scan of
 * the text before parsing, skipping over strings, so the check costs about as much as reading
 * the body once.
 */
import { GatewayError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-object.js';

export { MAX_JSON_DEPTH, nestsDeeperThan };

const BYTE_ORDER_MARK = 0xfeff;

/**
 * The parsed body; a GatewayError (400) for an empty, too deeply nested or malformed one. A
 * leading UTF-8 byte order mark (some Windows tools write one) is skipped, as RFC 8259 §8.1 lets
 * parsers do: it carries no data, and JSON.parse would refuse it.
 */
export function parseJsonBody(body: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const text = body.charCodeAt(0) === BYTE_ORDER_MARK ? body.slice(1) : body;
  if (text.length === 0) throw new GatewayError('invalid_json', 'the request body is empty: send a JSON object');
  if (nestsDeeperThan(text, maxDepth)) throw new GatewayError('invalid_json', `the request body nests objects or arrays more than ${maxDepth} levels deep; flatten it`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GatewayError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}
