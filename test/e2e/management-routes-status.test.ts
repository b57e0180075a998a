/**
 * The README's table of LiteLLM's management routes ("LiteLLM management routes: status") against
 * the running gateway: every route marked ✓ is served (some method of it reaches a handler), and
 * every route marked "not provided" answers 404 `no route …` to GET and POST alike — so the table
 * cannot claim a route the gateway lacks, nor hide one it serves.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

interface Row {
  family: string;
  routes: string[];
  served: boolean;
}

/** The table's rows: the routes of the second column, and whether the third starts with ✓. */
function statusTable(): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### LiteLLM management routes: status');
  expect(start).toBeGreaterThan(0);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('| family |'));
  const rows: Row[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const [, family, routes, status] = line.split('|').map((cell) => cell.trim());
    rows.push({ family, routes: [...routes.matchAll(/`(\/[^`]*)`/g)].map((match) => match[1]), served: status.startsWith('✓') });
  }
  return rows;
}

/** A concrete path for a route of the table: placeholders filled, a trailing wildcard given a segment. */
function concrete(route: string): string {
  return route.replace(/\{[^}]+\}/g, 'sample-id').replace(/\/\*$/, '/new');
}

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;

describe('README: LiteLLM management routes and their status', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  const rows = statusTable();

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url));
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  /** True when the gateway has no route for `method path` (its 404 "no route …"), false when a handler answered. */
  async function unrouted(method: string, path: string): Promise<boolean> {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${MASTER_KEY}`, ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
      ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
    });
    const text = await response.text();
    return response.status === 404 && text.includes('"no route ');
  }

  it('has both kinds of rows for every family it lists', () => {
    expect(rows.length).toBeGreaterThan(20);
    for (const family of ['keys', 'users', 'teams', 'customers', 'budgets', 'spend', 'models', 'health']) expect(rows.some((row) => row.family === family && row.served), family).toBe(true);
  });

  it('every route marked ✓ is served', async () => {
    const missing: string[] = [];
    for (const row of rows.filter((candidate) => candidate.served)) {
      for (const route of row.routes) {
        // "/end_user/*" and the like stand for a family already listed route by route.
        if (route.endsWith('/*')) continue;
        const path = concrete(route);
        let served = false;
        for (const method of METHODS) if (!(await unrouted(method, path))) served = true;
        if (!served) missing.push(route);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every route marked "not provided" answers 404 (no route) to GET and POST', async () => {
    const served: string[] = [];
    for (const row of rows.filter((candidate) => !candidate.served)) {
      for (const route of row.routes) {
        const path = concrete(route);
        for (const method of ['GET', 'POST']) if (!(await unrouted(method, path))) served.push(`${method} ${route}`);
      }
    }
    expect(served).toEqual([]);
  });

  it('the /end_user/* aliases of the customer routes are served', async () => {
    for (const action of ['new', 'info', 'update', 'delete', 'list', 'block', 'unblock']) {
      let served = false;
      for (const method of ['GET', 'POST']) if (!(await unrouted(method, `/end_user/${action}`))) served = true;
      expect(served, action).toBe(true);
    }
  });
});
