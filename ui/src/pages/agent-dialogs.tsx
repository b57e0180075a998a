/** The Agents page's dialogs: a test run, the executions log with a row's detail, and the editor. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { agentExecutions, createAgent, runAgent, sampleInput, updateAgent, type Agent, type AgentInput, type Execution, type Period, type RunResult } from '../api/agents';
import { modelGroupNames } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Field, FormFooter, Modal, notify, Pager } from '../components/ui';
import { count, dateTime, ms, usd } from '../format';

const statusTone = (status: string) => (status === 'success' ? 'green' : status === 'low_confidence' ? 'yellow' : 'red');
const pretty = (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value, null, 2));

// ---------------------------------------------------------------- Test

export function AgentTest({ agent, period, onClose, onRan }: { agent: Agent; period: Period; onClose: () => void; onRan: () => void }) {
  // Prefilled from the last stored input when prompts are stored, else from the template's fields.
  const last = useQuery({ queryKey: ['agent-last-input', agent.name], queryFn: () => agentExecutions(agent.name, period, 1, 10), staleTime: 0, refetchOnMount: 'always' });
  const lastInput = last.data?.data.find((row) => row.via === 'run' && row.input && typeof row.input === 'object')?.input;
  const [text, setText] = useState<string | null>(null);
  const [entityType, setEntityType] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);
  const shown = text ?? JSON.stringify(lastInput ?? sampleInput(agent), null, 2);
  const run = useMutation({
    mutationFn: (input: unknown) => runAgent(agent.name, { ...(entityType ? { entity_type: entityType } : {}), input_data: input }),
    onSuccess: onRan,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let input: unknown;
    try {
      input = JSON.parse(shown);
    } catch (error) {
      setParseError(`The input is not JSON: ${(error as Error).message}`);
      return;
    }
    setParseError(null);
    run.mutate(input);
  };
  return (
    <Modal title={`Test ${agent.display_name}`} open onClose={onClose} wide>
      <form className="form" onSubmit={submit}>
        <Field label="Entity type" hint="Optional label, e.g. rfq or email">
          {(id) => <input id={id} className="input" value={entityType} onChange={(event) => setEntityType(event.target.value)} />}
        </Field>
        <Field label="input_data (JSON)">
          {(id) => <textarea id={id} className="input code" rows={8} value={shown} onChange={(event) => setText(event.target.value)} />}
        </Field>
        <FormFooter error={parseError ?? (run.error ? errorText(run.error) : null)} submitLabel={run.isPending ? 'Running…' : 'Run'} disabled={run.isPending} />
      </form>
      {run.data ? <RunView result={run.data} /> : null}
    </Modal>
  );
}

function RunView({ result }: { result: RunResult }) {
  return (
    <section className="run-result" aria-label="Run result">
      <div className="stats stats-compact">
        <div>
          <Badge tone={statusTone(result.status)}>{result.status}</Badge>
        </div>
        <div>Confidence: <strong data-field="confidence">{result.confidence ?? '—'}</strong></div>
        <div>Model: <strong data-field="model">{result.model_used ?? '—'}</strong></div>
        <div>Tokens: <strong data-field="tokens">{count(result.tokens.total)}</strong></div>
        <div>Cost: <strong data-field="cost">{usd(result.cost_usd)}</strong></div>
        <div>Time: <strong>{ms(result.execution_time_ms)}</strong></div>
      </div>
      {result.error ? <p className="form-error">{result.error}</p> : null}
      <pre className="code-block" data-field="output">{pretty(result.output)}</pre>
    </section>
  );
}

// ---------------------------------------------------------------- Logs

export function AgentLogs({ agent, period, onClose }: { agent: Agent; period: Period; onClose: () => void }) {
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Execution | null>(null);
  const executions = useQuery({ queryKey: ['agent-executions', agent.name, period, page], queryFn: () => agentExecutions(agent.name, period, page) });
  return (
    <Modal title={`${agent.display_name}: executions`} open onClose={onClose} wide>
      <QueryView query={executions} empty={(data) => (data.data.length === 0 && page === 1 ? <Empty title="No executions in this period" /> : null)}>
        {(data) => (
          <>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Status</th>
                    <th scope="col">Entity</th>
                    <th scope="col">Model</th>
                    <th scope="col">Tokens</th>
                    <th scope="col">Cost</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.map((row) => (
                    <tr key={row.execution_id} className="clickable" tabIndex={0} onClick={() => setSelected(row)} onKeyDown={(event) => event.key === 'Enter' && setSelected(row)}>
                      <td>{dateTime(row.created_at)}</td>
                      <td>
                        <Badge tone={statusTone(row.status)}>{row.status}</Badge>
                      </td>
                      <td>{row.entity_type ?? (row.via === 'api' ? 'API call' : '—')}</td>
                      <td>{row.model ?? '—'}</td>
                      <td>{count(row.tokens.total)}</td>
                      <td>{usd(row.cost_usd)}</td>
                      <td>{ms(row.execution_time_ms)}</td>
                      <td className="muted">{row.error ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={page} onPage={setPage} hasNext={data.has_more}>
              Page {page}
            </Pager>
          </>
        )}
      </QueryView>
      {selected ? (
        <section className="execution-detail" aria-label="Execution detail">
          <h3>Execution {selected.execution_id}</h3>
          <p className="muted">
            {selected.via === 'run' ? 'Run' : 'API call'} · call {selected.call_id} · {selected.calls} call(s) · {selected.provider ?? ''} · confidence {selected.confidence ?? '—'}
          </p>
          {selected.error ? <p className="form-error">{selected.error}</p> : null}
          <h4>Input</h4>
          <pre className="code-block">{selected.input === null ? 'Not stored (general_settings.store_prompts_in_spend_logs is off)' : pretty(selected.input)}</pre>
          <h4>Output</h4>
          <pre className="code-block">{selected.output === null ? 'Not stored' : pretty(selected.output)}</pre>
        </section>
      ) : null}
    </Modal>
  );
}

// ---------------------------------------------------------------- Edit / create

interface Draft {
  name: string;
  display_name: string;
  type: string;
  description: string;
  model: string;
  fallbacks: string[];
  temperature: string;
  max_tokens: string;
  confidence_threshold: string;
  system_prompt: string;
  prompt_template: string;
  output_schema: string;
}

function draftOf(agent: Agent | undefined): Draft {
  return {
    name: agent?.name ?? '',
    display_name: agent?.display_name ?? '',
    type: agent?.type ?? '',
    description: agent?.description ?? '',
    model: agent?.model ?? '',
    fallbacks: agent?.fallbacks ?? [],
    temperature: agent?.temperature === null || agent?.temperature === undefined ? '' : String(agent.temperature),
    max_tokens: agent?.max_tokens === null || agent?.max_tokens === undefined ? '' : String(agent.max_tokens),
    confidence_threshold: String(agent?.confidence_threshold ?? 0),
    system_prompt: agent?.system_prompt ?? '',
    prompt_template: agent?.prompt_template ?? '',
    output_schema: agent?.output_schema ? JSON.stringify(agent.output_schema, null, 2) : '',
  };
}

/** The body to send, or the message saying which field is not right. */
function inputOf(draft: Draft, creating: boolean): AgentInput | string {
  const number = (value: string, field: string): number | null | string => {
    if (value.trim() === '') return null;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : `${field} must be a number`;
  };
  const temperature = number(draft.temperature, 'Temperature');
  const maxTokens = number(draft.max_tokens, 'Max tokens');
  const threshold = number(draft.confidence_threshold, 'Confidence threshold');
  for (const value of [temperature, maxTokens, threshold]) if (typeof value === 'string') return value;
  let schema: Record<string, unknown> | null = null;
  if (draft.output_schema.trim() !== '') {
    try {
      schema = JSON.parse(draft.output_schema) as Record<string, unknown>;
    } catch (error) {
      return `The output schema is not JSON: ${(error as Error).message}`;
    }
  }
  const input: AgentInput = {
    model: draft.model,
    fallbacks: draft.fallbacks,
    temperature: temperature as number | null,
    max_tokens: maxTokens as number | null,
    confidence_threshold: (threshold as number | null) ?? 0,
    system_prompt: draft.system_prompt,
    prompt_template: draft.prompt_template.trim() === '' ? null : draft.prompt_template,
    output_schema: schema,
    description: draft.description,
  };
  if (draft.display_name.trim() !== '') input.display_name = draft.display_name;
  if (draft.type.trim() !== '') input.type = draft.type;
  if (creating) input.name = draft.name;
  return input;
}

export function AgentEditor({ agent, onClose, onSaved }: { agent?: Agent; onClose: () => void; onSaved: () => void }) {
  const creating = agent === undefined;
  const [draft, setDraft] = useState<Draft>(() => draftOf(agent));
  const [problem, setProblem] = useState<string | null>(null);
  const groups = useQuery({ queryKey: ['model-group-names'], queryFn: modelGroupNames });
  const names = [...new Set([...(groups.data ?? []), ...(draft.model ? [draft.model] : []), ...draft.fallbacks])].sort();
  const save = useMutation({
    mutationFn: (input: AgentInput) => (creating ? createAgent(input) : updateAgent(agent.name, input)),
    onSuccess: (saved) => {
      notify(`${saved.display_name} saved`);
      onSaved();
    },
  });
  const set = (field: keyof Draft) => (event: { target: { value: string } }) => setDraft({ ...draft, [field]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = inputOf(draft, creating);
    if (typeof input === 'string') {
      setProblem(input);
      return;
    }
    setProblem(null);
    save.mutate(input);
  };
  return (
    <Modal title={creating ? 'New agent' : `Edit ${agent.display_name}`} open onClose={onClose} wide>
      <form className="form" onSubmit={submit}>
        <div className="form-grid">
          {creating ? <Field label="Name" hint="A slug, e.g. email-parser; called as agent/<name>">{(id) => <input id={id} className="input" required value={draft.name} onChange={set('name')} />}</Field> : null}
          <Field label="Display name">{(id) => <input id={id} className="input" value={draft.display_name} onChange={set('display_name')} />}</Field>
          <Field label="Type">{(id) => <input id={id} className="input" value={draft.type} onChange={set('type')} />}</Field>
          <Field label="Model">
            {(id) => (
              <select id={id} className="input" required value={draft.model} onChange={set('model')}>
                <option value="">Choose a model group</option>
                {names.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Fallbacks" hint="Tried in order when the model fails">
            {(id) => (
              <select id={id} className="input" multiple value={draft.fallbacks} onChange={(event) => setDraft({ ...draft, fallbacks: [...event.target.selectedOptions].map((option) => option.value) })}>
                {names.filter((name) => name !== draft.model).map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Temperature" hint="0–2; empty: the model's default">{(id) => <input id={id} className="input" inputMode="decimal" value={draft.temperature} onChange={set('temperature')} />}</Field>
          <Field label="Max tokens" hint="Empty: no limit set">{(id) => <input id={id} className="input" inputMode="numeric" value={draft.max_tokens} onChange={set('max_tokens')} />}</Field>
          <Field label="Confidence threshold" hint="0–1">{(id) => <input id={id} className="input" inputMode="decimal" value={draft.confidence_threshold} onChange={set('confidence_threshold')} />}</Field>
        </div>
        <Field label="Description">{(id) => <input id={id} className="input" value={draft.description} onChange={set('description')} />}</Field>
        <Field label="System prompt">{(id) => <textarea id={id} className="input" rows={3} value={draft.system_prompt} onChange={set('system_prompt')} />}</Field>
        <Field label="Prompt template" hint="{{input_data.field}} and {{entity_type}}; empty: the input JSON is the user message">{(id) => <textarea id={id} className="input code" rows={3} value={draft.prompt_template} onChange={set('prompt_template')} />}</Field>
        <Field label="Output schema (JSON Schema)" hint="Empty: any JSON object">{(id) => <textarea id={id} className="input code" rows={8} value={draft.output_schema} onChange={set('output_schema')} />}</Field>
        <FormFooter error={problem ?? (save.error ? errorText(save.error) : null)} submitLabel={save.isPending ? 'Saving…' : creating ? 'Create' : 'Save'} disabled={save.isPending} />
      </form>
    </Modal>
  );
}
