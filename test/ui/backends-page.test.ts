/// <reference lib="dom" />
/**
 * The Local backends page in a real browser against a whole gateway with two Ollama mocks (one
 * lacks the model its deployment needs) and a vLLM mock: both Ollama backends and the vLLM one are
 * shown with their models; the Providers page links the model_missing deployment to its backend;
 * "Pull" shows a moving progress bar and the deployment turns healthy; "Remove" takes it out again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockVllm } from '../support/mock-vllm.js';

const chromiumPath = chromiumOrSkip('backends page browser');
const SHOTS = join(process.cwd(), 'test-results', 'ui');

describe.skipIf(!chromiumPath)('Local backends page', () => {
  const llm01 = new MockOllama({ models: ['llama3.1:8b'], reply: 'from llm01' });
  // Slow enough that the bar is seen moving: 2 layers × 13 lines × 120 ms.
  const llm02 = new MockOllama({ models: [], reply: 'from llm02', pullable: ['llama3.1:8b'], pullSteps: 12, pullLineDelayMs: 120 });
  const vllm = new MockVllm([{ id: 'Qwen/Qwen2.5-32B-Instruct', max_model_len: 32768 }]);
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build (npm test does)');
    mkdirSync(SHOTS, { recursive: true });
    await Promise.all([llm01.start(), llm02.start(), vllm.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.1:8b, api_base: ${llm01.url} }
    model_info: { id: llama-llm01 }
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.1:8b, api_base: ${llm02.url} }
    model_info: { id: llama-llm02 }
  - model_name: qwen-32b
    litellm_params: { model: hosted_vllm/Qwen/Qwen2.5-32B-Instruct, api_base: ${vllm.url}, api_key: sk-vllm }
    model_info: { id: qwen-32b }
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    await page.goto(`${gateway.url}/ui/`);
    const field = page.getByLabel('API key');
    await field.fill(MASTER_KEY);
    await field.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 10_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await Promise.all([llm01.close(), llm02.close(), vllm.close()]);
  });

  const backendCard = (url: string) => page.getByRole('region', { name: `Backend ${url}` });
  const deploymentStatus = (url: string, id: string) => backendCard(url).locator(`tr[data-deployment="${id}"] .badge`).textContent();

  it('links a model_missing deployment from the Providers page to its backend', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Providers & health', exact: true }).click();
    await expect.poll(() => page.getByText(`model llama3.1:8b is not pulled on ${llm02.url}`).isVisible(), { timeout: 10_000 }).toBe(true);
    await page.getByRole('link', { name: 'Open its backend to pull the model' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Local backends');
    expect(new URL(page.url()).pathname).toBe('/ui/backends');
    expect(new URL(page.url()).hash).toMatch(/^#backend-[0-9a-f]{12}$/);
  });

  it('shows both Ollama backends and the vLLM one, with their models', async () => {
    await expect.poll(() => backendCard(llm01.url).isVisible()).toBe(true);
    await expect.poll(() => backendCard(llm02.url).isVisible()).toBe(true);
    await expect.poll(() => backendCard(vllm.url).isVisible()).toBe(true);
    const first = backendCard(llm01.url);
    await expect.poll(() => first.locator('table').first().getByText('llama3.1:8b', { exact: true }).isVisible()).toBe(true);
    expect(await first.getByRole('cell', { name: 'Q4_0' }).isVisible()).toBe(true);
    expect(await first.getByRole('cell', { name: '4.7 GB' }).isVisible()).toBe(true);
    expect(await backendCard(vllm.url).getByRole('cell', { name: '32,768' }).isVisible()).toBe(true);
    expect(await deploymentStatus(llm02.url, 'llama-llm02')).toBe('model_missing');
    await page.screenshot({ path: join(SHOTS, 'backends-laptop.png'), fullPage: true });
  });

  it('pulls the missing model: the progress bar moves and the deployment becomes healthy', async () => {
    const second = backendCard(llm02.url);
    await second.getByRole('button', { name: 'Pull llama3.1:8b' }).click();
    const bar = page.getByRole('progressbar', { name: 'Pull of llama3.1:8b' });
    await expect.poll(() => bar.isVisible(), { timeout: 5_000 }).toBe(true);
    const values = new Set<number>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await bar.isVisible())) {
      const value = await bar.evaluate((element) => (element as HTMLProgressElement).value).catch(() => undefined);
      if (value !== undefined) values.add(value);
      await page.waitForTimeout(100);
    }
    expect([...values].some((value) => value > 0 && value < 100)).toBe(true);
    await expect.poll(() => deploymentStatus(llm02.url, 'llama-llm02'), { timeout: 10_000 }).toBe('healthy');
    await expect.poll(() => second.locator('table').first().getByText('llama3.1:8b', { exact: true }).isVisible()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'backends-pulled-laptop.png'), fullPage: true });
    const answer = await gateway.openai().chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0].message.content).toMatch(/^from llm0[12]$/);
    // Its waits add up to 25 s; a loaded CI machine needs more than the default 30 s for the whole.
  }, 60_000);

  it('removes a model after a confirmation: the deployment is model_missing again', async () => {
    const second = backendCard(llm02.url);
    await second.getByRole('button', { name: 'Remove llama3.1:8b' }).click();
    await second.getByRole('button', { name: 'Confirm removing llama3.1:8b' }).click();
    await expect.poll(() => deploymentStatus(llm02.url, 'llama-llm02'), { timeout: 10_000 }).toBe('model_missing');
    expect(llm02.installed).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
