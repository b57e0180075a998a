/**
 * A tiny client-side router for the app's flat list of pages: paths under /ui/, History API,
 * no dependency. The gateway answers every /ui/* path with index.html, so deep links work.
 */
import { useSyncExternalStore } from 'react';

export const BASE = '/ui';

const listeners = new Set<() => void>();
function notify(): void {
  for (const listener of listeners) listener();
}
window.addEventListener('popstate', notify);

/** The current page path, e.g. "/keys" (without the /ui base). */
export function currentPath(): string {
  const path = window.location.pathname;
  const inner = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return inner === '' ? '/' : inner;
}

export function navigate(path: string): void {
  if (path === currentPath()) return;
  window.history.pushState(null, '', `${BASE}${path === '/' ? '/' : path}`);
  window.scrollTo(0, 0);
  notify();
}

export function usePath(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    currentPath,
  );
}
