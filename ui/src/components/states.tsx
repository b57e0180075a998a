/** Loading, empty and error states, and QueryView that picks one for a TanStack query. */
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError } from '../api/http';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const apiError = error instanceof ApiError ? error : null;
  if (apiError?.unavailable) {
    return (
      <div className="state state-unavailable" role="alert">
        <strong>Not available on this gateway</strong>
        <div>
          This gateway does not serve <code>{apiError.path}</code> yet (404). The page needs a gateway version that has this API.
        </div>
      </div>
    );
  }
  if (apiError?.status === 404) {
    return (
      <div className="state state-unavailable" role="alert">
        <strong>Not available</strong>
        <div>{apiError.message}</div>
      </div>
    );
  }
  if (apiError?.status === 403) {
    return (
      <div className="state state-error" role="alert">
        <strong>Not allowed</strong>
        <div>{apiError.message}</div>
      </div>
    );
  }
  return (
    <div className="state state-error" role="alert">
      <strong>Something went wrong</strong>
      <div>{error instanceof Error ? error.message : String(error)}</div>
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function QueryView<T>({ query, children, empty, loadingLabel }: { query: UseQueryResult<T>; children: (data: T) => ReactNode; empty?: (data: T) => ReactNode | null; loadingLabel?: string }) {
  if (query.isPending) return <Loading label={loadingLabel} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const emptyView = empty?.(query.data);
  if (emptyView) return <>{emptyView}</>;
  return <>{children(query.data)}</>;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError && error.unavailable) return `Not available on this gateway: ${error.path} answered 404.`;
  return error instanceof Error ? error.message : String(error);
}
