/** Chat with any model (or power level) through the gateway: streaming, with tokens, cost and latency. */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { publicModels, spendLog, streamChat, type ChatMessage, type ChatResult } from '../api/gateway';
import { errorText } from '../components/states';
import { Card, Field, PageHeader, Stat } from '../components/ui';
import { count, ms, usd } from '../format';
import type { Session } from '../session';
import { TestingLab } from './testing-lab';

/** The gateway's power levels (X-Power-Level): it picks the model for the level. */
const powerLevels = ['', 'eco', 'balanced', 'precision'];

type CostState = { state: 'known'; value: number } | { state: 'pending' } | { state: 'unknown' };

export function PlaygroundPage({ session }: { session: Session }) {
  const models = useQuery({ queryKey: ['public-models'], queryFn: publicModels });
  const [model, setModel] = useState('');
  const [powerLevel, setPowerLevel] = useState('');
  const [system, setSystem] = useState('');
  const [prompt, setPrompt] = useState('');
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [streaming, setStreaming] = useState<string | null>(null);
  const [result, setResult] = useState<ChatResult | null>(null);
  const [cost, setCost] = useState<CostState>({ state: 'unknown' });
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const transcript = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!model && models.data?.length) setModel(models.data[0]);
  }, [model, models.data]);
  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => {
    transcript.current?.scrollTo({ top: transcript.current.scrollHeight });
  }, [messages, streaming]);

  async function send(event: FormEvent) {
    event.preventDefault();
    const text = prompt.trim();
    if (!text || streaming !== null) return;
    if (!model && !powerLevel) return setError('Pick a model (or a power level).');
    const history: ChatMessage[] = [...messages, { role: 'user', content: text }];
    setMessages(history);
    setPrompt('');
    setError(null);
    setResult(null);
    setCost({ state: 'unknown' });
    setStreaming('');
    const controller = new AbortController();
    abort.current = controller;
    try {
      const outcome = await streamChat(
        { model, powerLevel: powerLevel || undefined, messages: system.trim() ? [{ role: 'system', content: system.trim() }, ...history] : history },
        (piece) => setStreaming((current) => (current ?? '') + piece),
        controller.signal,
      );
      setMessages([...history, { role: 'assistant', content: outcome.text }]);
      setResult(outcome);
      if (outcome.cost !== null) setCost({ state: 'known', value: outcome.cost });
      else if (outcome.call_id) void lookUpCost(outcome.call_id);
    } catch (caught) {
      if ((caught as Error).name === 'AbortError') {
        setMessages(history);
      } else {
        setError(errorText(caught));
      }
    } finally {
      setStreaming(null);
      abort.current = null;
    }
  }

  /** A stream's cost is known only once the gateway has settled it: read it from the request log. */
  async function lookUpCost(callId: string) {
    setCost({ state: 'pending' });
    for (const delay of [300, 700, 1_500, 3_000]) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        const row = await spendLog(callId);
        if (row?.spend !== null && row?.spend !== undefined) return setCost({ state: 'known', value: row.spend });
      } catch {
        break; // logs not available on this gateway
      }
    }
    setCost({ state: 'unknown' });
  }

  return (
    <>
      <PageHeader
        title="Playground"
        description="Chat with any model through the gateway, streamed, with the tokens, cost and latency of each answer."
        actions={
          <button
            type="button"
            className="button button-ghost"
            disabled={streaming !== null || messages.length === 0}
            onClick={() => {
              setMessages([]);
              setResult(null);
              setError(null);
            }}
          >
            New chat
          </button>
        }
      />
      <div className="playground">
        <Card className="playground-settings" title="Settings">
          <div className="form">
            <Field label="Model">
              {(id) => (
                <select id={id} value={model} onChange={(event) => setModel(event.target.value)} disabled={models.isPending}>
                  {models.isPending ? <option>Loading…</option> : null}
                  {models.data?.map((name) => (
                    <option key={name}>{name}</option>
                  ))}
                </select>
              )}
            </Field>
            {models.isError ? <p className="form-error">{errorText(models.error)}</p> : null}
            {models.data?.length === 0 ? <p className="muted small">No model can be called with this key.</p> : null}
            <Field label="Power level" hint="Sent as X-Power-Level; the gateway picks the model for it.">
              {(id) => (
                <select id={id} value={powerLevel} onChange={(event) => setPowerLevel(event.target.value)}>
                  {powerLevels.map((level) => (
                    <option key={level} value={level}>
                      {level || 'none (use the model)'}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="System prompt">{(id) => <textarea id={id} rows={3} value={system} onChange={(event) => setSystem(event.target.value)} placeholder="optional" />}</Field>
          </div>
        </Card>
        <Card className="playground-chat">
          <div className="transcript" ref={transcript} aria-live="polite" aria-label="Conversation">
            {messages.length === 0 && streaming === null ? <p className="muted center">Send a message to start.</p> : null}
            {messages.map((message, index) => (
              <div key={index} className={`bubble bubble-${message.role}`}>
                <span className="sr-only">{message.role === 'user' ? 'You:' : 'Assistant:'}</span>
                {message.content}
              </div>
            ))}
            {streaming !== null ? (
              <div className="bubble bubble-assistant" data-testid="streaming-reply">
                {streaming}
                <span className="cursor" aria-hidden="true" />
              </div>
            ) : null}
          </div>
          {error ? (
            <p className="form-error" role="alert">
              {error}
            </p>
          ) : null}
          {result ? (
            <div className="stats stats-compact" data-testid="chat-stats">
              <Stat label="Tokens" value={`${count(result.prompt_tokens)} in · ${count(result.completion_tokens)} out`} />
              <Stat label="Cost" value={cost.state === 'known' ? usd(cost.value, 6) : cost.state === 'pending' ? 'settling…' : '—'} detail={cost.state === 'unknown' ? 'not known' : undefined} />
              <Stat label="Latency" value={ms(result.total_ms)} detail={`first token ${ms(result.ttft_ms)}`} />
              <Stat label="Served by" value={result.model_group ?? model} detail={result.model_id ?? undefined} />
            </div>
          ) : null}
          <form className="composer" onSubmit={send}>
            <label className="sr-only" htmlFor="playground-prompt">
              Message
            </label>
            <textarea
              id="playground-prompt"
              rows={2}
              value={prompt}
              onChange={(event) => setPrompt(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' && !event.shiftKey) {
                  event.preventDefault();
                  event.currentTarget.form?.requestSubmit();
                }
              }}
              placeholder="Message (Enter sends, Shift+Enter adds a line)"
            />
            {streaming !== null ? (
              <button type="button" className="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            ) : (
              <button type="submit" className="button button-primary" disabled={!prompt.trim()}>
                Send
              </button>
            )}
          </form>
        </Card>
      </div>
      <TestingLab models={models.data ?? []} admin={session.role === 'admin'} />
    </>
  );
}
