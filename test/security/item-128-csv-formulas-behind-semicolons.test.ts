/**
 * The attack: the CSV exports (spend logs, spend report, daily activity) carry names a client
 * chose — the model it asked for (an unknown one is recorded as asked), its request tags, a key
 * alias. A cell starting with = + - @ is defused with a leading quote, but only at the start of
 * the whole value. Excel in most European locales (German, French, Italian, Spanish, Dutch, …)
 * opens a .csv with the regional list separator, ";", as the delimiter, and a double quote only
 * opens a quoted field at a field's start: `x;=HYPERLINK(…);` from any key's request became a
 * cell of its own holding a live formula in the operator's spreadsheet (a link to click, or
 * WEBSERVICE/IMAGE fetching a URL built from the other cells: other keys' aliases and spend), and a
 * tag `w⏎=HYPERLINK(…)` (quoted for commas, but not for ";") the first cell of a row of its own.
 *
 * Now a formula trigger after a ";" or a line break is defused as one at the start is, so no cell of
 * the export starts a formula whichever of "," or ";" the spreadsheet splits on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const FORMULA = '=HYPERLINK(CHAR(104)&CHAR(116)&CHAR(116)&CHAR(112)&CHAR(58)&CHAR(47)&CHAR(47)&CHAR(101)&CHAR(118)&CHAR(105)&CHAR(108))';
/** Values a client controls, each hiding a formula behind a semicolon or a line break. */
const MODEL = `gpt-4o;${FORMULA};`;
const TAGS = [`team-a;${FORMULA};`, 'x; +cmd|calc;', 'y;"=1+1";', 'z;@SUM(1);', 'w\n=HYPERLINK(1)'];

let gateway: TestGateway;
let userKey: string;

const api = (path: string, init: RequestInit = {}, key = MASTER_KEY) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

beforeAll(async () => {
  gateway = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
`);
  const created = await api('/key/generate', { method: 'POST', body: JSON.stringify({ key_alias: `ops;${FORMULA};` }) });
  expect(created.status).toBe(200);
  userKey = ((await created.json()) as { key: string }).key;
  // An ordinary key asks for a model that does not exist: refused, and recorded under the name asked.
  const call = await api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], metadata: { tags: TAGS } }) }, userKey);
  expect(call.status).toBe(404);
  await gateway.flushUsage();
});

afterAll(async () => {
  await gateway?.close();
});

/**
 * The cells a spreadsheet makes of one CSV line when ";" is the delimiter (Excel with a ";" list
 * separator): split on every ";" (and the text on every line break) — a double quote is a text qualifier only at a field's start, so
 * the quotes of comma-separated fields do not protect a ";" inside them — and a cell's own leading
 * qualifier removed.
 */
function semicolonCells(line: string): string[] {
  return line.split(';').map((cell) => cell.replace(/^"+/, ''));
}

const FORMULA_START = /^[=+\-@\t\r]/;

async function exported(path: string): Promise<string> {
  const response = await api(path);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
  return response.text();
}

describe('CSV exports start no formula in a spreadsheet that splits on semicolons', () => {
  const day = new Date().toISOString().slice(0, 10);
  const exports = [
    '/switchboard/spend/logs?format=csv',
    `/switchboard/spend/report?format=csv&group_by=model&start_date=${day}&end_date=${day}`,
    `/switchboard/spend/report?format=csv&group_by=api_key&start_date=${day}&end_date=${day}`,
    `/switchboard/spend/report?format=csv&group_by=tag&start_date=${day}&end_date=${day}`,
    `/user/daily/activity?format=csv&start_date=${day}&end_date=${day}`,
  ];

  it.each(exports)('%s', async (path) => {
    const text = await exported(path);
    // Its line breaks too: a quote that opens no field does not hold a line break inside one.
    const lines = text.split(/\r\n|\n|\r/).filter(Boolean);
    // The export does carry the client's values (else this test proves nothing).
    expect(text).toMatch(/HYPERLINK|cmd\|calc|@SUM/);
    const live = lines.flatMap((line) => semicolonCells(line)).filter((cell) => FORMULA_START.test(cell));
    expect(live).toEqual([]);
    // Comma-separated, the first cell of each value stays defused as before.
    for (const line of lines) expect(line.split(',').some((cell) => /^=HYPERLINK/.test(cell))).toBe(false);
  });
});
