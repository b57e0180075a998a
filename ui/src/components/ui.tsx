/** Small building blocks: page header, card, badge, form field, modal dialog, toast notices, pager. */
import { useEffect, useId, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';

export function PageHeader({ title, description, actions }: { title: string; description?: string; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description ? <p className="muted">{description}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Card({ title, children, actions, className }: { title?: string; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`} aria-label={title}>
      {title || actions ? (
        <div className="card-header">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export type Tone = 'green' | 'yellow' | 'red' | 'gray' | 'blue';

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Field({ label, hint, children }: { label: string; hint?: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint ? <small className="muted">{hint}</small> : null}
    </div>
  );
}

export function Stat({ label, value, detail, tone }: { label: string; value: ReactNode; detail?: ReactNode; tone?: Tone }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {detail ? <div className="stat-detail muted">{detail}</div> : null}
    </div>
  );
}

/** A modal dialog on the native <dialog> element: focus is trapped and Escape closes it. */
export function Modal({ title, open, onClose, children, wide }: { title: string; open: boolean; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className={`modal ${wide ? 'modal-wide' : ''}`} aria-labelledby={headingId} onClose={onClose} onCancel={onClose}>
      {open ? (
        <>
          <div className="modal-header">
            <h2 id={headingId}>{title}</h2>
            <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </div>
          <div className="modal-body">{children}</div>
        </>
      ) : null}
    </dialog>
  );
}

// ---- toasts: short notices after an action

interface Toast {
  id: number;
  text: string;
  tone: 'ok' | 'error';
}
let toasts: Toast[] = [];
let nextToast = 1;
const toastListeners = new Set<() => void>();
function setToasts(next: Toast[]) {
  toasts = next;
  for (const listener of toastListeners) listener();
}

export function notify(text: string, tone: 'ok' | 'error' = 'ok'): void {
  const toast = { id: nextToast++, text, tone };
  setToasts([...toasts, toast]);
  setTimeout(() => setToasts(toasts.filter((item) => item.id !== toast.id)), tone === 'error' ? 8_000 : 4_000);
}

export function Toasts() {
  const list = useSyncExternalStore(
    (listener) => {
      toastListeners.add(listener);
      return () => toastListeners.delete(listener);
    },
    () => toasts,
  );
  return (
    <div className="toasts" role="status" aria-live="polite">
      {list.slice(-3).map((toast) => (
        <div key={toast.id} className={`toast toast-${toast.tone}`}>
          {toast.text}
        </div>
      ))}
    </div>
  );
}

/** A button that asks for confirmation inline (a second click) before a destructive action. */
export function ConfirmButton({ label, confirmLabel, onConfirm, disabled }: { label: string; confirmLabel?: string; onConfirm: () => void; disabled?: boolean }) {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return;
    const timer = setTimeout(() => setArmed(false), 4_000);
    return () => clearTimeout(timer);
  }, [armed]);
  return (
    <button
      type="button"
      className={`button button-small ${armed ? 'button-danger' : 'button-ghost'}`}
      disabled={disabled}
      onClick={() => {
        if (armed) {
          setArmed(false);
          onConfirm();
        } else setArmed(true);
      }}
    >
      {armed ? (confirmLabel ?? `Confirm ${label.toLowerCase()}`) : label}
    </button>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button button-small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1_500);
          },
          () => notify('Copy failed: select the text and copy it by hand', 'error'),
        );
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/**
 * The end of a form: its error (announced to screen readers) and the submit button, with any other
 * actions before it; `actions: false` shows only the error (a read-only form).
 */
export function FormFooter({ error, submitLabel, disabled, extra, actions = true }: { error: ReactNode; submitLabel: string; disabled: boolean; extra?: ReactNode; actions?: boolean }) {
  return (
    <>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {actions ? (
        <div className="form-actions">
          {extra}
          <button type="submit" className="button button-primary" disabled={disabled}>
            {submitLabel}
          </button>
        </div>
      ) : null}
    </>
  );
}

/** Buttons to the previous and next page around a label saying where the list is. */
export function Pager({ page, onPage, hasNext, children, previous = 'Previous', next = 'Next' }: { page: number; onPage: (page: number) => void; hasNext: boolean; children: ReactNode; previous?: string; next?: string }) {
  return (
    <div className="pager">
      <button type="button" className="button button-small" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {previous}
      </button>
      <span className="muted">{children}</span>
      <button type="button" className="button button-small" disabled={!hasNext} onClick={() => onPage(page + 1)}>
        {next}
      </button>
    </div>
  );
}
