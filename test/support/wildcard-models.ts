/**
 * The model list the model-spelling tests share (items 255, 265, 266, 269, 273): `cheap`
 * (gpt-4o-mini) and `premium` (gpt-4o) configured by name, and two wildcard groups (`"openai/*"`
 * and `"*"`, both `openai/*`) that pass whatever spelling the client sends upstream — the way a
 * respelled model (`GPT-4o`, `openai/openai/gpt-4o`) reaches gpt-4o past a restriction by name.
 */
export function wildcardModelList(cheapUrl: string, openaiUrl: string): string {
  return `model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${cheapUrl}", api_key: sk-upstream}
  - model_name: premium
    litellm_params: {model: openai/gpt-4o, api_base: "${openaiUrl}", api_key: sk-upstream}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${openaiUrl}", api_key: sk-upstream}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_base: "${openaiUrl}", api_key: sk-upstream}`;
}
