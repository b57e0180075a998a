/**
 * The answers of GET /backends (and the pull routes), shared by the server and the admin UI like
 * views.ts: type-only, no runtime imports.
 */
import type { HealthStatus } from './views.js';

export interface BackendModelView {
  name: string;
  size: number | null;
  digest: string | null;
  modified_at: string | null;
  family: string | null;
  parameter_size: string | null;
  quantization: string | null;
  /** vLLM's context length. */
  max_model_len: number | null;
  /** In memory now (Ollama's /api/ps); null when the server does not say. */
  loaded: boolean | null;
  size_vram: number | null;
  expires_at: string | null;
}

export interface BackendDeploymentView {
  deployment_id: string;
  model_name: string;
  /** The model the deployment asks the backend for. */
  model: string;
  provider: string;
  active: boolean;
  status: HealthStatus;
  last_error: string | null;
  /** Whether the backend has the model (null: the backend was not read yet, or does not answer). */
  model_present: boolean | null;
}

export interface PullView {
  model: string;
  state: 'running' | 'succeeded' | 'failed';
  status: string;
  completed: number;
  total: number;
  /** 0–100, null until Ollama said how much there is to download. */
  percent: number | null;
  error: string | null;
  started_by: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface WarmUpView {
  model: string;
  load_ms: number;
  server_load_ms: number | null;
  at: string;
  error: string | null;
}

export interface BackendView {
  id: string;
  /** `ollama`, or `openai` for OpenAI-compatible servers (vLLM, LM Studio, model_info.local). */
  kind: 'ollama' | 'openai';
  providers: string[];
  api_base: string;
  /** `up` (answered its last read), `down`, `unknown` (not read yet). */
  status: 'up' | 'down' | 'unknown';
  error: string | null;
  last_checked: string | null;
  models: BackendModelView[];
  deployments: BackendDeploymentView[];
  /** Models its deployments ask for that it does not have. */
  missing_models: string[];
  pulls: PullView[];
  warm_ups: WarmUpView[];
  /** Pull and remove work on Ollama backends. */
  manageable: boolean;
}

export interface BackendsAnswer {
  backends: BackendView[];
}
