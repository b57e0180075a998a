/**
 * Which deployments a user's own provider key (BYOK) may be sent to. A key is meant for its
 * provider's public API: sending it to a deployment with another `api_base` (an internal proxy, a
 * self-hosted server) would hand the secret to that server, and would make calls free wherever
 * that server does not check keys. So BYOK applies to a deployment when `model_info.byok` is true,
 * or, unset, when the deployment calls its provider's default (public) API base. `byok: false`
 * opts a deployment out even on the public base. Never on a deployment whose `api_base` carries a
 * credential itself — user info (`https://user:secret@host`) or a query parameter named like one
 * (`?key=`, Google's API key parameter; `api-key`, `token`, a SAS `sig`, …): the user's key would go
 * out beside the operator's, and the provider may bill the operator's account for a call recorded as
 * the user's own (free).
 */
import { providerSpec } from '../providers/specs.js';
import type { Deployment } from '../providers/types.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function normalizedBase(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host.toLowerCase()}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/** The provider's default API base, when it is a public one (not a server on this machine). */
function publicBaseOf(provider: string): string | undefined {
  const base = providerSpec(provider)?.defaultApiBase;
  if (!base) return undefined;
  try {
    if (LOOPBACK_HOSTS.has(new URL(base).hostname)) return undefined;
  } catch {
    return undefined;
  }
  return normalizedBase(base);
}

/**
 * Whether the provider's calls carry an API key at all. Bedrock signs every request with the
 * deployment's AWS credentials, Vertex AI sends an OAuth token minted from the deployment's service
 * account: a user's API key would not be sent, and the call would run on the operator's account
 * while counted as the user's own (free).
 */
export function takesApiKey(provider: string): boolean {
  const format = providerSpec(provider)?.format;
  return format !== 'bedrock' && format !== 'vertex_ai';
}

/** Query parameters named like a credential (case-insensitive). */
const CREDENTIAL_PARAMETER = /^(?:key|api[-_]?key|apikey|access[-_]?token|token|auth|authorization|sig|signature|secret|password|code|x-goog-api-key)$/i;

/** Whether an API base URL carries a credential of its own: user info, or a query parameter named like one. */
export function baseCarriesCredential(apiBase: string | undefined): boolean {
  if (!apiBase) return false;
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return true;
  for (const name of url.searchParams.keys()) if (CREDENTIAL_PARAMETER.test(name)) return true;
  return false;
}

export function acceptsOwnKeys(deployment: Pick<Deployment, 'provider' | 'apiBase' | 'modelInfo'>): boolean {
  if (!takesApiKey(deployment.provider)) return false;
  if (baseCarriesCredential(deployment.apiBase)) return false;
  const marked = deployment.modelInfo.byok;
  if (marked === true) return true;
  if (marked === false) return false;
  const publicBase = publicBaseOf(deployment.provider);
  // The public base as written: a query string of any kind makes it another address.
  return publicBase !== undefined && !/[?#]/.test(deployment.apiBase ?? '') && normalizedBase(deployment.apiBase) === publicBase;
}
