/**
 * Local inference servers ("backends") as the gateway sees them: what each one serves (its
 * inventory, read as part of the health rounds) and the model pulls under way on it.
 */

/** How a backend is read: Ollama's own API, or an OpenAI-compatible server (vLLM, LM Studio, …). */
export type BackendKind = 'ollama' | 'openai';

export interface BackendRef {
  /** Stable across replicas and restarts: a short hash of the kind and base URL. */
  id: string;
  kind: BackendKind;
  /** The deployments' api_base (for Ollama the server's root, for OpenAI-compatible servers the …/v1 base). */
  baseUrl: string;
}

/** One model the backend has (Ollama: pulled; vLLM/OpenAI-compatible: served). */
export interface BackendModel {
  name: string;
  size?: number;
  digest?: string;
  modifiedAt?: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
  /** vLLM's context length (`max_model_len`). */
  maxModelLen?: number;
}

/** A model loaded in memory (Ollama's /api/ps). */
export interface LoadedModel {
  name: string;
  size?: number;
  sizeVram?: number;
  expiresAt?: string;
}

/** The last time a model was loaded on purpose (model_info.keep_warm). */
export interface WarmUp {
  model: string;
  /** Wall time of the load request, ms. */
  loadMs: number;
  /** Ollama's own load_duration, ms, when it said. */
  serverLoadMs?: number;
  at: number;
  error?: string;
}

export interface BackendInventory {
  backendId: string;
  kind: BackendKind;
  baseUrl: string;
  /** False when the backend did not answer (the error says why); models are then those last seen. */
  reachable: boolean;
  error?: string;
  models: BackendModel[];
  /** Ollama only; undefined for servers that do not say. */
  loaded?: LoadedModel[];
  warmUps?: WarmUp[];
  checkedAt: number;
  /** Epoch ms of the last change; the newer record wins when replicas disagree. */
  updatedAt: number;
}

export type PullState = 'running' | 'succeeded' | 'failed';

export interface PullProgress {
  backendId: string;
  model: string;
  state: PullState;
  /** Ollama's last status line ("pulling manifest", "pulling 6a0746a1ec1a", "success", …). */
  status: string;
  /** Bytes over every layer seen so far. */
  completed: number;
  total: number;
  error?: string;
  /** Who started it (key alias or user, for the log and the page). */
  startedBy?: string;
  startedAt: number;
  finishedAt?: number;
  updatedAt: number;
}
