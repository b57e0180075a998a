/**
 * Item 276, tag routing as an access boundary. LiteLLM documents team tags (`/team/new
 * {"tags": ["teamA"]}`, kept in the team's `metadata.tags`) as "LLM Access Control For Teams": the
 * team's keys go to the deployments with that `litellm_params.tags`. Here `/team/new` with
 * `tags: ["team-a"]` (or `metadata.tags`) answered 200 and dropped them: team A's keys went to the
 * `default` deployment, and nothing kept the tag-reserved deployment for team A — a team-B key that
 * sends `tags: ["team-a"]` (body, `metadata.tags` or `x-litellm-tags`) is served by it, as the
 * README documents (a request's own tags steer it). Team tags are now refused in words (400 naming
 * the field); what a call is served by and billed at stays the served deployment's (its price).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const dedicated = new MockOpenAI({ reply: 'team-a account' });
const shared = new MockOpenAI({ reply: 'shared account' });
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await Promise.all([dedicated.start(), shared.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${dedicated.url}", api_key: sk-dedicated, tags: ["team-a"]}
    model_info: {id: dep-team-a, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${shared.url}", api_key: sk-shared, tags: ["default"]}
    model_info: {id: dep-default, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  enable_tag_filtering: true
  disable_cooldowns: true
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([dedicated.close(), shared.close()]);
});

async function chat(key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...extra }),
  });
  await response.text();
  const callId = response.headers.get('x-litellm-call-id');
  return { status: response.status, record: callId ? await gateway.recordOf(callId) : undefined };
}

describe("LiteLLM's team tags", () => {
  it.each([
    ['tags', { tags: ['team-a'] }],
    ['metadata.tags', { metadata: { tags: ['team-a'] } }],
  ])('are refused on /team/new and /team/update (%s), not stored and silently ignored', async (param, fields) => {
    const created = await api.call<ErrorBody>('POST', '/team/new', { team_id: `tagged-${param}`, ...fields });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toContain(`${param}: team tags are not supported`);
    await api.newTeam({ team_id: `plain-${param}` });
    const updated = await api.call<ErrorBody>('POST', '/team/update', { team_id: `plain-${param}`, ...fields });
    expect(updated.status).toBe(400);
    expect(updated.body.error.message).toContain(`${param}: team tags are not supported`);
  });

  it('empty ones (what clients send by default) and other metadata are still accepted', async () => {
    const team = await api.newTeam({ team_id: 'empty-tags', tags: [], metadata: { cost_center: 'x', tags: [] } });
    expect(team.team_id).toBe('empty-tags');
    expect((await api.call('POST', '/team/update', { team_id: 'empty-tags', tags: null })).status).toBe(200);
  });
});

describe('tags steer, they do not guard (README: Tag routing)', () => {
  it("a team-B key's own tags reach the tag-kept deployment, billed at that deployment's price", async () => {
    await api.newTeam({ team_id: 'team-b' });
    const key = (await api.generateKey({ team_id: 'team-b' })).key;
    const untagged = await chat(key);
    expect(untagged.status).toBe(200);
    expect(untagged.record?.deployment_id).toBe('dep-default');
    const before = dedicated.requests.length;
    for (const [extra, headers] of [[{ tags: ['team-a'] }, {}], [{ metadata: { tags: ['team-a'] } }, {}], [{}, { 'x-litellm-tags': 'team-a' }]] as const) {
      const tagged = await chat(key, extra, headers);
      expect(tagged.status).toBe(200);
      expect(tagged.record?.deployment_id).toBe('dep-team-a');
      // Ten times the default's price: the call is billed at the deployment that served it.
      expect(tagged.record?.cost_micros).toBe(untagged.record!.cost_micros! * 10);
      expect(JSON.parse(tagged.record!.request_tags!)).toEqual(['team-a']);
    }
    expect(dedicated.requests.length).toBe(before + 3);
  });

  it("a key's own tags are stored and reported, and do not route its calls", async () => {
    const key = await api.generateKey({ tags: ['team-a'] });
    expect(key.tags).toEqual(['team-a']);
    const call = await chat(key.key);
    expect(call.record?.deployment_id).toBe('dep-default');
  });
});
