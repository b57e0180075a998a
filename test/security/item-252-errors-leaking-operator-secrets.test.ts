/**
 * Item 252. The attack: an ordinary key holder calls models whose deployments are broken and reads
 * the errors for the operator's internals. Upstream error bodies (OpenAI's masked "Incorrect API key
 * provided: sk-proj-…abcd", Gemini's "API key not valid", Anthropic's "invalid x-api-key") and
 * connection failures to an api_base ("cannot reach the upstream (ECONNREFUSED)") were already
 * clean. Two answers were not:
 * - a Vertex AI deployment whose service account's token endpoint cannot be reached answered 401
 *   "could not obtain an access token: request to https://sts.corp-internal…:8443/token failed,
 *   reason: getaddrinfo ENOTFOUND sts.corp-internal…" (or "connect ECONNREFUSED 10.…:port"): the
 *   token_uri, its host and port, to any caller of the model;
 * - a model whose every deployment cannot be called answered 503 `model_unavailable` quoting each
 *   deployment's reason: the service-account file's path ("vertex credentials file
 *   /etc/…/vertex-sa-prod.json cannot be read"), the refused api_base with its address — details
 *   /model/info already keeps from non-admins.
 * Now the token failure names only its error code, and a non-admin learns that the model is
 * misconfigured, not where; admins still get the reasons.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, Management } from '../support/management.js';
import { MockVertex } from '../support/mock-vertex.js';

const INTERNAL_HOST = 'sts.corp-internal.invalid';
const CREDENTIALS_PATH = '/etc/switchboard/secrets/vertex-sa-prod.json';
const METADATA_BASE = 'http://169.254.169.254/v1';

/** A local port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('errors an ordinary key reads do not reveal the operator\'s internals', () => {
  const vertex = new MockVertex({ project: 'acme-prod' });
  let gateway: TestGateway;
  let api: Management;
  let key: string;
  let port: number;

  beforeAll(async () => {
    await vertex.start();
    port = await closedPort();
    const deployment = (name: string, credentials: unknown) => `
  - model_name: ${name}
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${JSON.stringify(credentials)}
      api_base: ${vertex.url}`;
    gateway = await startGateway(`
model_list:${deployment('token-refused', JSON.stringify(vertex.serviceAccount({ token_uri: `http://127.0.0.1:${port}/token` })))}${deployment('token-unresolvable', JSON.stringify(vertex.serviceAccount({ token_uri: `https://${INTERNAL_HOST}:8443/token` })))}${deployment('credentials-missing', CREDENTIALS_PATH)}
  - model_name: metadata-base
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${METADATA_BASE}", api_key: sk-operator-key-0123456789}
router_settings: {num_retries: 0, disable_cooldowns: true}
general_settings:
  master_key: ${MASTER_KEY}
  background_health_checks: false
`);
    api = new Management(gateway.url);
    await api.newUser({ user_id: 'item-252-user', user_role: 'internal_user' });
    key = (await api.generateKey({ user_id: 'item-252-user' })).key;
  });

  afterAll(async () => {
    await gateway?.close();
    await vertex.close();
  });

  async function chat(model: string, callerKey: string, stream = false): Promise<{ status: number; text: string }> {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${callerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return { status: response.status, text: await response.text() };
  }

  it.each([
    ['a closed port', 'token-refused', 'ECONNREFUSED', () => [`127.0.0.1:${port}`, `:${port}`, '/token']],
    ['an internal host that does not resolve', 'token-unresolvable', 'ENOTFOUND', () => [INTERNAL_HOST, 'corp-internal', ':8443', '/token']],
  ])('a token endpoint at %s is not named, only the failure', async (_name, model, code, secrets) => {
    for (const stream of [false, true]) {
      const answer = await chat(model, key, stream);
      expect(answer.status).toBe(401);
      const body = JSON.parse(answer.text) as ErrorBody;
      expect(body.error.code).toBe('upstream_authentication');
      expect(body.error.message).toContain(code);
      for (const secret of secrets()) expect(answer.text).not.toContain(secret);
    }
    // The admin's own view of the deployment does not need the text either: its api_base and key file are in /model/info.
    const admin = await chat(model, MASTER_KEY);
    expect(admin.status).toBe(401);
    expect(admin.text).toContain(code);
  });

  it.each([
    ['its credentials file', 'credentials-missing', [CREDENTIALS_PATH, 'vertex-sa-prod']],
    ['its refused api_base', 'metadata-base', ['169.254.169.254', METADATA_BASE]],
  ])('an unavailable model does not show a non-admin %s; an admin still sees it', async (_name, model, secrets) => {
    const answer = await chat(model, key);
    expect(answer.status).toBe(503);
    const body = JSON.parse(answer.text) as ErrorBody;
    expect(body.error.code).toBe('model_unavailable');
    expect(body.error.message).toContain(`model "${model}" is configured but unavailable`);
    for (const secret of secrets) expect(answer.text).not.toContain(secret);

    const admin = await chat(model, MASTER_KEY);
    expect(admin.status).toBe(503);
    expect(admin.text).toContain(secrets[0]);
  });
});
