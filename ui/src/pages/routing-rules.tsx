/**
 * Routing rules: the rules in the order they are tried, created and edited in a form, enabled or
 * disabled, moved up or down (a stored rule's priority changes), removed; and an "explain" box
 * that shows which rule a request would match and where it would go, calling nothing.
 * config.yaml's rules are listed read-only.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { createRule, deleteRule, explainRouting, listRules, updateRule, type Explanation, type RoutingRule, type RuleAction, type RuleInput, type RuleMatch } from '../api/routing';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, Field, FormFooter, Modal, notify, PageHeader } from '../components/ui';

const LEVELS = ['eco', 'balanced', 'precision', 'custom'];
const list = (text: string): string[] | undefined => {
  const items = text.split(',').map((item) => item.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
};
const joined = (items: string[] | undefined) => (items ?? []).join(', ');
const whole = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** One line saying what a rule matches. */
export function matchSummary(match: RuleMatch): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(match)) {
    if (value === undefined) continue;
    parts.push(Array.isArray(value) ? `${name}: ${value.join(' | ')}` : typeof value === 'object' ? `${name}: ${JSON.stringify(value)}` : `${name}: ${String(value)}`);
  }
  return parts.join(' · ') || 'every request';
}

export function actionSummary(action: RuleAction): string {
  const parts: string[] = [];
  if (action.route_to) parts.push(`route to ${action.route_to.join(' → ')}`);
  if (action.allow_models) parts.push(`allow ${action.allow_models.join(', ')}`);
  if (action.deny_models) parts.push(`deny ${action.deny_models.join(', ')}`);
  if (action.set_power_level) parts.push(`power level ${action.set_power_level}`);
  if (action.max_tokens_cap !== undefined) parts.push(`max_tokens ≤ ${action.max_tokens_cap}`);
  return parts.join(' · ');
}

type Tri = '' | 'yes' | 'no';
const tri = (value: boolean | undefined): Tri => (value === undefined ? '' : value ? 'yes' : 'no');
const fromTri = (value: Tri): boolean | undefined => (value === '' ? undefined : value === 'yes');

/** The form of one rule; `initial` absent: a new rule. */
function RuleForm({ initial, nextPriority, onDone }: { initial?: RoutingRule; nextPriority: number; onDone: () => void }) {
  const queryClient = useQueryClient();
  const m = initial?.match ?? {};
  const a = initial?.action ?? {};
  const [fields, setFields] = useState({
    name: initial?.name ?? '',
    priority: String(initial?.priority ?? nextPriority),
    enabled: initial?.enabled ?? true,
    tiers: joined(m.tiers),
    users: joined(m.users),
    teams: joined(m.teams),
    key_aliases: joined(m.key_aliases),
    tags: joined(m.tags),
    model: joined(m.model),
    task: joined(m.task),
    power_levels: joined(m.power_levels),
    has_tools: tri(m.has_tools),
    has_images: tri(m.has_images),
    min_prompt_tokens: m.min_prompt_tokens === undefined ? '' : String(m.min_prompt_tokens),
    max_prompt_tokens: m.max_prompt_tokens === undefined ? '' : String(m.max_prompt_tokens),
    route_to: joined(a.route_to),
    allow_models: joined(a.allow_models),
    deny_models: joined(a.deny_models),
    set_power_level: a.set_power_level ?? '',
    max_tokens_cap: a.max_tokens_cap === undefined ? '' : String(a.max_tokens_cap),
  });
  const set = (name: keyof typeof fields) => (event: { target: { value: string } }) => setFields({ ...fields, [name]: event.target.value });

  const save = useMutation({
    mutationFn: () => {
      const rule: RuleInput = {
        name: fields.name.trim(),
        priority: Number(fields.priority),
        enabled: fields.enabled,
        match: {
          tiers: list(fields.tiers),
          users: list(fields.users),
          teams: list(fields.teams),
          key_aliases: list(fields.key_aliases),
          tags: list(fields.tags),
          model: list(fields.model),
          task: list(fields.task),
          power_levels: list(fields.power_levels),
          has_tools: fromTri(fields.has_tools),
          has_images: fromTri(fields.has_images),
          min_prompt_tokens: whole(fields.min_prompt_tokens),
          max_prompt_tokens: whole(fields.max_prompt_tokens),
          // metadata conditions are kept as they are (set them through the API)
          metadata: m.metadata,
        },
        action: {
          route_to: list(fields.route_to),
          allow_models: list(fields.allow_models),
          deny_models: list(fields.deny_models),
          set_power_level: fields.set_power_level || undefined,
          max_tokens_cap: whole(fields.max_tokens_cap),
        },
      };
      return initial ? updateRule(initial.name, rule) : createRule(rule);
    },
    onSuccess: async (rule) => {
      notify(initial ? `Rule ${rule.name} saved` : `Rule ${rule.name} created`);
      await queryClient.invalidateQueries({ queryKey: ['routing-rules'] });
      onDone();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const text = (label: string, name: keyof typeof fields, hint?: string) => (
    <Field label={label} hint={hint}>
      {(id) => <input id={id} value={String(fields[name])} onChange={set(name)} />}
    </Field>
  );
  const choice = (label: string, name: 'has_tools' | 'has_images') => (
    <Field label={label}>
      {(id) => (
        <select id={id} value={fields[name]} onChange={set(name)}>
          <option value="">either</option>
          <option value="yes">yes</option>
          <option value="no">no</option>
        </select>
      )}
    </Field>
  );

  return (
    <form className="form" onSubmit={submit}>
      <div className="form-grid">
        {text('Rule name', 'name', 'Letters, digits, ".", "_", ":" or "-".')}
        {text('Priority', 'priority', 'Lower numbers are tried first.')}
        <label className="checkbox">
          <input type="checkbox" checked={fields.enabled} onChange={(event) => setFields({ ...fields, enabled: event.target.checked })} /> Enabled
        </label>
      </div>
      <fieldset className="fieldset">
        <legend>Match (every condition given must hold; lists are comma-separated, any entry matches)</legend>
        <div className="form-grid">
          {text('Tiers', 'tiers')}
          {text('Users', 'users')}
          {text('Teams', 'teams')}
          {text('Key aliases', 'key_aliases')}
          {text('Tags', 'tags')}
          {text('Requested model', 'model', 'Names or patterns such as gpt-4*.')}
          {text('Task', 'task', 'x-switchboard-task header or a task:<name> tag.')}
          {text('Power levels', 'power_levels')}
          {choice('Has tools', 'has_tools')}
          {choice('Has images', 'has_images')}
          {text('Min prompt tokens', 'min_prompt_tokens')}
          {text('Max prompt tokens', 'max_prompt_tokens')}
        </div>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Action</legend>
        <div className="form-grid">
          {text('Route to', 'route_to', 'Model groups in order: the first callable one wins, the rest are fallbacks.')}
          {text('Allow models', 'allow_models')}
          {text('Deny models', 'deny_models')}
          <Field label="Set power level">
            {(id) => (
              <select id={id} value={fields.set_power_level} onChange={set('set_power_level')}>
                <option value="">unchanged</option>
                {LEVELS.map((level) => (
                  <option key={level}>{level}</option>
                ))}
              </select>
            )}
          </Field>
          {text('Max tokens cap', 'max_tokens_cap')}
        </div>
      </fieldset>
      <FormFooter error={save.error ? errorText(save.error) : null} submitLabel={save.isPending ? 'Saving…' : initial ? 'Save rule' : 'Create rule'} disabled={save.isPending} />
    </form>
  );
}

const DEFAULT_REQUEST = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Write a function that adds two numbers.' }] }, null, 2);

function ExplainBox() {
  const [userId, setUserId] = useState('');
  const [task, setTask] = useState('');
  const [powerLevel, setPowerLevel] = useState('');
  const [body, setBody] = useState(DEFAULT_REQUEST);
  const explain = useMutation({
    mutationFn: () => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new Error('The request is not valid JSON.');
      }
      return explainRouting({ request: parsed, user_id: userId.trim() || undefined, task: task.trim() || undefined, power_level: powerLevel || undefined });
    },
  });
  const answer: Explanation | undefined = explain.data;
  return (
    <Card title="Explain a request">
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          explain.mutate();
        }}
      >
        <div className="form-grid">
          <Field label="Explain as user" hint="Empty: your own key.">
            {(id) => <input id={id} value={userId} onChange={(event) => setUserId(event.target.value)} placeholder="user id" />}
          </Field>
          <Field label="Explain task" hint="As the x-switchboard-task header.">
            {(id) => <input id={id} value={task} onChange={(event) => setTask(event.target.value)} placeholder="code, chat, analysis…" />}
          </Field>
          <Field label="Explain power level">
            {(id) => (
              <select id={id} value={powerLevel} onChange={(event) => setPowerLevel(event.target.value)}>
                <option value="">none</option>
                {LEVELS.map((level) => (
                  <option key={level}>{level}</option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Request body">{(id) => <textarea id={id} rows={6} className="code" value={body} onChange={(event) => setBody(event.target.value)} />}</Field>
        <FormFooter error={explain.error ? errorText(explain.error) : null} submitLabel={explain.isPending ? 'Explaining…' : 'Explain'} disabled={explain.isPending} />
      </form>
      {answer ? (
        <dl className="explain-result" data-testid="explain-result">
          <dt>Rule</dt>
          <dd>{answer.rule ?? 'no rule matches'}</dd>
          <dt>Tier</dt>
          <dd>{answer.tier ?? '—'}</dd>
          {answer.refused ? (
            <>
              <dt>Refused</dt>
              <dd className="form-error">
                {answer.refused.status} {answer.refused.code}: {answer.refused.message}
              </dd>
            </>
          ) : (
            <>
              <dt>Model</dt>
              <dd>{answer.model}</dd>
              <dt>Fallbacks</dt>
              <dd>{answer.fallbacks?.join(' → ') || 'none'}</dd>
              <dt>Power level</dt>
              <dd>{answer.power_level ?? 'none'}</dd>
              <dt>Max tokens</dt>
              <dd>{answer.max_tokens ?? 'as sent'}</dd>
              <dt>Limits</dt>
              <dd>{answer.limits?.join('; ') || 'none'}</dd>
            </>
          )}
        </dl>
      ) : null}
    </Card>
  );
}

export function RoutingRulesPage() {
  const queryClient = useQueryClient();
  const rules = useQuery({ queryKey: ['routing-rules'], queryFn: listRules });
  const [editing, setEditing] = useState<RoutingRule | 'new' | null>(null);
  const change = useMutation({
    mutationFn: ({ name, changes }: { name: string; changes: Partial<RuleInput> }) => updateRule(name, changes),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['routing-rules'] }),
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteRule(name),
    onSuccess: async (_answer, name) => {
      notify(`Rule ${name} removed`);
      await queryClient.invalidateQueries({ queryKey: ['routing-rules'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const all = rules.data ?? [];
  const nextPriority = all.length > 0 ? Math.max(...all.map((rule) => rule.priority)) + 10 : 100;

  return (
    <>
      <PageHeader
        title="Routing rules"
        description="Which model a request goes to: the first enabled rule that matches (lowest priority number first) applies. Changes apply at once on every replica."
        actions={
          <button type="button" className="button button-primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        }
      />
      <Card title="Rules, in the order tried">
        <QueryView query={rules} empty={(data) => (data.length === 0 ? <Empty title="No routing rules">Requests go to the model they name.</Empty> : null)}>
          {(data) => (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Priority</th>
                    <th scope="col">Rule</th>
                    <th scope="col">Matches</th>
                    <th scope="col">Action</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((rule, index) => {
                    const stored = rule.source === 'api';
                    const before = data[index - 1];
                    const after = data[index + 1];
                    return (
                      <tr key={rule.name} data-rule={rule.name}>
                        <td>{rule.priority}</td>
                        <td className="strong">
                          {rule.name} {stored ? null : <Badge tone="gray">config.yaml</Badge>}
                        </td>
                        <td className="small">{matchSummary(rule.match)}</td>
                        <td className="small">{actionSummary(rule.action)}</td>
                        <td>{rule.enabled ? <Badge tone="green">enabled</Badge> : <Badge tone="gray">disabled</Badge>}</td>
                        <td className="row-actions">
                          {stored ? (
                            <>
                              <button type="button" className="button button-ghost" aria-label={`Move ${rule.name} up`} disabled={!before || change.isPending} onClick={() => change.mutate({ name: rule.name, changes: { priority: before.priority - 1 } })}>
                                ↑
                              </button>
                              <button type="button" className="button button-ghost" aria-label={`Move ${rule.name} down`} disabled={!after || change.isPending} onClick={() => change.mutate({ name: rule.name, changes: { priority: after.priority + 1 } })}>
                                ↓
                              </button>
                              <button type="button" className="button" onClick={() => change.mutate({ name: rule.name, changes: { enabled: !rule.enabled } })} disabled={change.isPending}>
                                {rule.enabled ? 'Disable' : 'Enable'}
                              </button>
                              <button type="button" className="button" onClick={() => setEditing(rule)}>
                                Edit
                              </button>
                              <ConfirmButton label="Remove" onConfirm={() => remove.mutate(rule.name)} disabled={remove.isPending} />
                            </>
                          ) : (
                            <span className="muted small">change in config.yaml</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </Card>
      <ExplainBox />
      <Modal title={editing === 'new' ? 'New routing rule' : editing ? `Edit rule ${editing.name}` : 'Rule'} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing !== null ? <RuleForm initial={editing === 'new' ? undefined : editing} nextPriority={nextPriority} onDone={() => setEditing(null)} /> : null}
      </Modal>
    </>
  );
}
