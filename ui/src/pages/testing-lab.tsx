/**
 * The Testing Lab (in the Playground): one real call as a chosen user (admins) or with your own
 * key, at a power level, to a model or "auto"; the answer shows the routing rule applied, the
 * model chosen, the tokens, the credits charged and the balance after.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { runLabCall, type LabAnswer } from '../api/routing';
import { errorText } from '../components/states';
import { Card, Field, FormFooter, Stat } from '../components/ui';
import { count } from '../format';

const LEVELS = ['', 'eco', 'balanced', 'precision', 'custom'];

export function TestingLab({ models, admin }: { models: string[]; admin: boolean }) {
  const [userId, setUserId] = useState('');
  const [model, setModel] = useState('auto');
  const [level, setLevel] = useState('');
  const [task, setTask] = useState('');
  const [prompt, setPrompt] = useState('Hello!');
  const run = useMutation({
    mutationFn: () =>
      runLabCall({
        user_id: userId.trim() || undefined,
        power_level: level || undefined,
        task: task.trim() || undefined,
        request: { model, messages: [{ role: 'user', content: prompt }] },
      }),
  });
  const answer: LabAnswer | undefined = run.data;
  return (
    <Card title="Testing Lab" className="testing-lab">
      <p className="muted small">One real call, charged like any other, showing how the gateway routed it.</p>
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          run.mutate();
        }}
      >
        <div className="form-grid">
          {admin ? (
            <Field label="Test as user" hint="Empty: your own key.">
              {(id) => <input id={id} value={userId} onChange={(event) => setUserId(event.target.value)} placeholder="user id" />}
            </Field>
          ) : null}
          <Field label="Test target">
            {(id) => (
              <select id={id} value={model} onChange={(event) => setModel(event.target.value)}>
                <option value="auto">auto (chosen by power level)</option>
                {models.map((name) => (
                  <option key={name}>{name}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Test level">
            {(id) => (
              <select id={id} value={level} onChange={(event) => setLevel(event.target.value)}>
                {LEVELS.map((item) => (
                  <option key={item} value={item}>
                    {item || 'none'}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Test task" hint="As the x-switchboard-task header.">
            {(id) => <input id={id} value={task} onChange={(event) => setTask(event.target.value)} placeholder="code, chat, analysis…" />}
          </Field>
        </div>
        <Field label="Test prompt">{(id) => <textarea id={id} rows={2} value={prompt} onChange={(event) => setPrompt(event.target.value)} />}</Field>
        <FormFooter error={run.error ? errorText(run.error) : null} submitLabel={run.isPending ? 'Running…' : 'Run test call'} disabled={run.isPending || !prompt.trim()} />
      </form>
      {answer ? (
        <>
          <div className="stats stats-compact" data-testid="lab-result">
            <Stat label="Rule applied" value={answer.rule ?? 'none'} />
            <Stat label="Model chosen" value={answer.model ?? '—'} detail={answer.deployment ?? undefined} />
            <Stat label="Tokens" value={`${count(answer.usage?.prompt_tokens ?? null)} in · ${count(answer.usage?.completion_tokens ?? null)} out`} />
            <Stat label="Credits charged" value={answer.credits_cost ?? '—'} detail={answer.power_level ? `power level ${answer.power_level}` : undefined} />
            <Stat label="Balance after" value={answer.credits_remaining ?? '—'} detail={answer.user_id ? `user ${answer.user_id}` : 'no credit account'} />
          </div>
          <p className="lab-answer">{typeof answer.content === 'string' ? answer.content : JSON.stringify(answer.content)}</p>
        </>
      ) : null}
    </Card>
  );
}
