/**
 * Region pinning, as LiteLLM's router does it for an end user's `allowed_model_region`: a call made
 * for a customer held to "eu" (or "us") is served only by the group's deployments in that region,
 * and a group without one is refused by name — never sent to another region. A deployment's region
 * is `litellm_params.region_name` ("eu", "us", or a provider's region name), else the region the
 * provider runs it in: `vertex_location` (Vertex AI), the AWS region (Bedrock). Provider region
 * names are placed in Europe or the US by their spelling (AWS, Google Cloud and Azure names).
 */
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';

export const ALLOWED_REGIONS = ['eu', 'us'] as const;
export type AllowedRegion = (typeof ALLOWED_REGIONS)[number];

/** European regions: AWS `eu-*`, Google Cloud `europe-*`, Azure's European region names. */
const EU_PATTERNS = [/^eu-/, /^europe-/, /^(west|north)europe$/, /^(france|germany|italy|norway|poland|spain|sweden|switzerland|austria|belgium|denmark|finland|greece)[a-z]*$/, /^uk(south|west)$/];
/** US regions: AWS `us-*` (and `us-gov-*`), Google Cloud `us-*`, Azure's US region names. */
const US_PATTERNS = [/^us-/, /^(east|west|central|northcentral|southcentral|westcentral)us\d*$/, /^usgov[a-z]+$/];

/** "eu" or "us" for a region name (`eu`, `us`, `eu-west-1`, `europe-west4`, `swedencentral`, `us-east-1`, `eastus2`), else undefined. */
export function regionOfName(name: string | undefined): AllowedRegion | undefined {
  if (!name) return undefined;
  const region = name.trim().toLowerCase();
  if (region === 'eu' || region === 'us') return region;
  if (EU_PATTERNS.some((pattern) => pattern.test(region))) return 'eu';
  if (US_PATTERNS.some((pattern) => pattern.test(region))) return 'us';
  return undefined;
}

/**
 * The region name a deployment declares or runs in: `region_name` first (as LiteLLM reads it),
 * else the Vertex AI location or the AWS region of a Bedrock deployment.
 */
export function deploymentRegionName(regionName: string | undefined, deployment: Pick<Deployment, 'vertex' | 'aws'>): string | undefined {
  return regionName ?? deployment.vertex?.location ?? deployment.aws?.region;
}

/** The deployments of a group that may serve a call held to `region` (a subset of `deployments`). */
export function deploymentsInRegion(group: string, deployments: readonly Deployment[], region: AllowedRegion | undefined): readonly Deployment[] {
  if (!region) return deployments;
  const serving = deployments.filter((deployment) => deployment.region === region);
  if (serving.length > 0) return serving;
  throw new GatewayError(
    'invalid_request',
    `no deployment of model "${group}" is in region "${region}", the only region this end user's calls may reach (customer allowed_model_region); deployments declare theirs with litellm_params.region_name`,
    { param: 'model' },
  );
}
