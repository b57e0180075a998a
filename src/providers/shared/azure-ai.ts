/**
 * Azure AI inference endpoints (`azure_ai/<model>`): Azure AI Foundry resources
 * (`https://{resource}.services.ai.azure.com/models`) and serverless deployments
 * (`https://{endpoint}.{region}.models.ai.azure.com`) speak OpenAI's chat API at their own base.
 * The path and auth header follow LiteLLM's azure_ai provider: Foundry hosts take the key in
 * `api-key` and route under `/models/`, other hosts take a bearer token.
 */

/** Foundry's model inference API needs an api-version; LiteLLM users usually put it in api_base. */
export const AZURE_AI_DEFAULT_API_VERSION = '2024-05-01-preview';

function hostOf(apiBase: string): string {
  try {
    return new URL(apiBase).hostname.toLowerCase();
  } catch {
    return '';
  }
}

function isFoundryHost(host: string): boolean {
  return host.endsWith('.services.ai.azure.com');
}

/** `api-key` on Azure's own hosts, a bearer token elsewhere (serverless endpoints, proxies). */
export function azureAIUsesApiKeyHeader(apiBase: string): boolean {
  const host = hostOf(apiBase);
  return isFoundryHost(host) || host.endsWith('.openai.azure.com');
}

/**
 * `{api_base}/chat/completions` (or `/models/chat/completions` on a Foundry host), keeping a query
 * the api_base carries and adding `api-version` when it has none and one is known.
 */
export function azureAIUrl(apiBase: string, endpoint: string, apiVersion: string | undefined): string {
  const url = new URL(apiBase);
  const foundry = isFoundryHost(url.hostname.toLowerCase());
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(`/${endpoint}`)) path = path.slice(0, -endpoint.length - 1);
  if (foundry && path.endsWith('/models')) path = path.slice(0, -'/models'.length);
  url.pathname = `${path}${foundry ? '/models' : ''}/${endpoint}`;
  const version = apiVersion ?? (foundry ? AZURE_AI_DEFAULT_API_VERSION : undefined);
  if (version && !url.searchParams.has('api-version')) url.searchParams.set('api-version', version);
  return url.toString();
}
