/**
 * A vLLM OpenAI-compatible server (`vllm serve … --api-key …`): GET /v1/models answers vLLM's model
 * cards — {"object": "list", "data": [{"id", "object": "model", "created", "owned_by": "vllm",
 * "root", "parent": null, "max_model_len", "permission": [...]}]} — and 401 {"error": "Unauthorized"}
 * without the key; chat, completions and embeddings are the OpenAI mock's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockOpenAI, type MockOpenAIOptions } from './mock-openai.js';

export interface ServedModel {
  id: string;
  max_model_len: number;
  /** The weights it was loaded from (`--model`); default: the id. */
  root?: string;
}

export class MockVllm extends MockOpenAI {
  modelListRequests = 0;

  constructor(
    readonly served: ServedModel[],
    options: MockOpenAIOptions = {},
  ) {
    super(options);
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/v1/models') return super.handle(request, response);
    this.modelListRequests++;
    const send = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    if (!request.headers.authorization?.startsWith('Bearer ')) return send(401, { error: 'Unauthorized' });
    const created = Math.floor(Date.now() / 1000);
    send(200, {
      object: 'list',
      data: this.served.map((model) => ({
        id: model.id,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: model.root ?? model.id,
        parent: null,
        max_model_len: model.max_model_len,
        permission: [
          {
            id: `modelperm-${model.id.length.toString(16).padStart(8, '0')}`,
            object: 'model_permission',
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      })),
    });
  }
}
