/// <reference lib="dom" />
/**
 * The admin UI's Models page lists the models of config.yaml the gateway cannot serve — a provider
 * this version does not serve, a key whose variable is unset, a malformed entry (one without a name
 * listed as model_list[<index>]) — marked unavailable with the reason,
 * beside the ones it serves (a real browser: playwright-core driving the system Chromium).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const chromiumPath = chromiumOrSkip('Models page (unavailable models)');

describe.skipIf(!chromiumPath)('the Models page on a config with models the gateway cannot serve', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build (npm test does)');
    mock = new MockOpenAI();
    gateway = await startGateway(`
model_list:
  - model_name: served
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${await mock.start()}
      api_key: sk-upstream-test
  - model_name: sagemaker-llama
    litellm_params:
      model: sagemaker/jumpstart-dft-meta-textgeneration-llama-2-7b
  - model_name: mistral-large
    litellm_params:
      model: mistral/mistral-large-latest
      api_key: os.environ/UI_TEST_UNSET_MISTRAL_KEY
  - model_name: malformed
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-upstream-test
      rpm: lots
  - litellm_params:
      model: openai/gpt-4o
      api_key: sk-upstream-test
general_settings:
  master_key: ${MASTER_KEY}
`);
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' })).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('shows each unavailable model with its reason, and the served one without', async () => {
    await page.goto(`${gateway.url}/ui/`);
    const field = page.getByLabel('API key');
    await field.fill(MASTER_KEY);
    await field.press('Enter');
    const navigation = page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => navigation.isVisible()).toBe(true);
    await navigation.getByRole('link', { name: 'Models', exact: true }).click();

    const row = (name: string) => page.locator(`tr[data-model-name="${name}"]`);
    await expect.poll(() => row('sagemaker-llama').textContent(), { timeout: 10_000 }).toContain('unavailable: provider "sagemaker": AWS SageMaker endpoints are not served by this version');
    await expect.poll(() => row('mistral-large').textContent()).toContain('unavailable: environment variable UI_TEST_UNSET_MISTRAL_KEY is not set');
    await expect.poll(() => row('malformed').textContent()).toContain('unavailable: invalid model entry: litellm_params.rpm: expected a number');
    // An entry without a name is listed by its place in the file.
    await expect.poll(() => row('model_list[4]').textContent()).toContain('unavailable: invalid model entry: model_name: is required');
    await expect.poll(() => row('served').textContent()).toContain('gpt-4o-mini');
    expect(await row('served').textContent()).not.toContain('unavailable');
  });
});
