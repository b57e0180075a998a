/**
 * An api_base may carry a query string (an Azure SAS-style `?sig=…`, a proxy's `?api-version=…`).
 * Adapters build upstream URLs as `${apiBase}/{path}` text, which put the path inside the query
 * (`/v1?sig=…/chat/completions`): here the path goes before the query, and the api_base's query is
 * kept, ahead of the one the adapter added (`&` joined). URLs that do not start with the api_base
 * are left alone.
 */
export function withApiBaseQuery(url: string, apiBase: string): string {
  const at = apiBase.indexOf('?');
  if (at < 0 || !url.startsWith(apiBase)) return url;
  const base = apiBase.slice(0, at).replace(/\/+$/, '');
  const baseQuery = apiBase.slice(at + 1).replace(/\/+$/, '');
  const tail = url.slice(apiBase.length);
  const queryAt = tail.indexOf('?');
  const path = queryAt < 0 ? tail : tail.slice(0, queryAt);
  const query = [baseQuery, queryAt < 0 ? '' : tail.slice(queryAt + 1)].filter((part) => part !== '').join('&');
  return `${base}${path}${query === '' ? '' : `?${query}`}`;
}
