import { describe, expect, it } from 'vitest';
import { buildDeployments } from '../config/deployments.js';
import { parseConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import { deploymentsInRegion, regionOfName } from './region-filter.js';

const deployment = (id: string, region?: 'eu' | 'us') => ({ id, region }) as Deployment;
const ids = (list: readonly Deployment[]) => list.map((item) => item.id);

describe('regionOfName', () => {
  it('reads "eu" and "us" and the providers\' region names', () => {
    for (const name of ['eu', 'EU', 'eu-west-1', 'eu-central-2', 'europe-west4', 'europe-north1', 'westeurope', 'northeurope', 'swedencentral', 'germanywestcentral', 'francecentral', 'switzerlandnorth', 'uksouth']) expect(regionOfName(name)).toBe('eu');
    for (const name of ['us', 'us-east-1', 'us-west-2', 'us-gov-west-1', 'us-central1', 'eastus', 'eastus2', 'westus3', 'southcentralus', 'usgovvirginia']) expect(regionOfName(name)).toBe('us');
  });

  it('places no other region in either (a deployment there serves no region-held customer)', () => {
    for (const name of [undefined, '', 'global', 'asia-east1', 'ap-south-1', 'japaneast', 'canadacentral', 'northamerica-northeast1', 'australiaeast', 'europ', 'usa']) expect(regionOfName(name)).toBeUndefined();
  });
});

describe('deploymentsInRegion', () => {
  const group = [deployment('eu-1', 'eu'), deployment('us-1', 'us'), deployment('none'), deployment('eu-2', 'eu')];

  it('keeps only the deployments of the allowed region', () => {
    expect(ids(deploymentsInRegion('gpt', group, 'eu'))).toEqual(['eu-1', 'eu-2']);
    expect(ids(deploymentsInRegion('gpt', group, 'us'))).toEqual(['us-1']);
  });

  it('leaves every deployment to a call held to no region', () => {
    expect(ids(deploymentsInRegion('gpt', group, undefined))).toEqual(['eu-1', 'us-1', 'none', 'eu-2']);
  });

  it('refuses a group without a deployment in the region, naming it, instead of sending the call elsewhere', () => {
    const refuse = () => deploymentsInRegion('gpt', [deployment('us-1', 'us'), deployment('none')], 'eu');
    expect(refuse).toThrow(GatewayError);
    expect(refuse).toThrow('no deployment of model "gpt" is in region "eu"');
    try {
      refuse();
    } catch (error) {
      expect((error as GatewayError).status).toBe(400);
    }
  });
});

describe('a deployment\'s region', () => {
  it('is litellm_params.region_name, else the Vertex AI location or the AWS region of a Bedrock deployment', () => {
    const loaded = parseConfig(
      `
model_list:
  - model_name: declared
    litellm_params: {model: openai/gpt-4o, api_key: sk-test, region_name: eu}
  - model_name: azure
    litellm_params: {model: azure/prod, api_base: "https://example.openai.azure.com", api_key: k, region_name: swedencentral}
  - model_name: vertex
    litellm_params: {model: vertex_ai/gemini-2.0-flash, vertex_project: p, vertex_location: europe-west4}
  - model_name: bedrock
    litellm_params: {model: bedrock/amazon.nova-pro-v1:0, aws_access_key_id: A, aws_secret_access_key: S, aws_region_name: us-east-1}
  - model_name: declared-wins
    litellm_params: {model: bedrock/amazon.nova-pro-v1:0, aws_access_key_id: A, aws_secret_access_key: S, aws_region_name: us-east-1, region_name: eu}
  - model_name: nowhere
    litellm_params: {model: openai/gpt-4o, api_key: sk-test}
`,
      {},
      'test.yaml',
    );
    expect(loaded.issues.filter((issue) => /region/.test(String(issue.path?.at(-1))))).toEqual([]);
    expect(buildDeployments(loaded).map((item) => [item.modelName, item.region])).toEqual([
      ['declared', 'eu'],
      ['azure', 'eu'],
      ['vertex', 'eu'],
      ['bedrock', 'us'],
      ['declared-wins', 'eu'],
      ['nowhere', undefined],
    ]);
  });
});
