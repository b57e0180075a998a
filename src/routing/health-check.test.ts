import { describe, expect, it } from 'vitest';
import type { UpstreamClient } from '../gateway/upstream.js';
import type { Deployment, UpstreamRequest } from '../providers/types.js';
import { checkDeployment } from './health-check.js';

function deployment(mode: string | undefined, provider = 'openai'): Deployment {
  return { id: 'd1', modelName: 'group', provider, upstreamModel: 'dall-e-3', apiBase: 'https://api.example.com/v1', apiKey: 'sk-upstream', apiVersion: '2024-10-21', headers: {}, defaultParams: {}, modelInfo: { mode }, available: true };
}

function recordingUpstream(status: number): { client: UpstreamClient; sent: UpstreamRequest[] } {
  const sent: UpstreamRequest[] = [];
  const client = {
    send: async (request: UpstreamRequest) => {
      sent.push(request);
      return { statusCode: status, headers: {}, body: { text: async () => (status >= 400 ? '{"error":{"message":"bad key"}}' : '{"data":[]}') } };
    },
  } as unknown as UpstreamClient;
  return { client, sent };
}

describe('health checks of media deployments', () => {
  it('probe the model list instead of generating anything billable', async () => {
    for (const mode of ['image_generation', 'audio_speech', 'audio_transcription', 'rerank', 'moderation']) {
      const { client, sent } = recordingUpstream(200);
      expect((await checkDeployment(deployment(mode), client, 1_000)).healthy).toBe(true);
      expect(sent[0]).toMatchObject({ method: 'GET', url: 'https://api.example.com/v1/models' });
      expect(sent[0].headers.authorization).toBe('Bearer sk-upstream');
      expect(sent[0].body).toBeUndefined();
    }
    const azure = recordingUpstream(401);
    const result = await checkDeployment({ ...deployment('image_generation', 'azure'), apiBase: 'https://res.openai.azure.com' }, azure.client, 1_000);
    expect(azure.sent[0].url).toBe('https://res.openai.azure.com/openai/models?api-version=2024-10-21');
    expect(result).toMatchObject({ healthy: false, upstreamStatus: 401 });
  });

  it('still probe chat deployments with a one-token chat', async () => {
    const { client, sent } = recordingUpstream(200);
    await checkDeployment(deployment(undefined), client, 1_000);
    expect(sent[0]).toMatchObject({ method: 'POST', url: 'https://api.example.com/v1/chat/completions' });
  });
});
