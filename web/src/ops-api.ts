// The operations pages' one way to call the server: the stored token, no caching, and the answer
// kept whole (status, body, the error's code, message and field) so a page can show the admin
// exactly what the server said, including which field it refused.

import { t } from './i18n.js';
import { noteServer } from './net.js';
import { getToken } from './submit.js';

export interface ApiError { code: string; message: string; field?: string; details?: unknown }
export interface Answer<T> { status: number; ok: boolean; body: T | null; error: ApiError | null }

export interface CallOptions {
  method?: string;
  json?: unknown;                           // sent as application/json
  bytes?: Blob | string; type?: string;     // sent as is, with this Content-Type
  headers?: Record<string, string>;
}

// Throws only when the server cannot be reached; any HTTP answer is returned.
export async function call<T>(path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const token = await getToken();
  const headers: Record<string, string> = { ...options.headers, Authorization: `Bearer ${token ?? ''}` };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  } else if (options.bytes !== undefined) {
    body = options.bytes;
    headers['Content-Type'] = options.type ?? 'application/octet-stream';
  }
  let r: Response;
  try {
    // A POST without a body goes out with Content-Length: 0, as the server asks.
    r = await fetch(`api/v1/${path}`, { method: options.method ?? 'GET', headers, body, cache: 'no-store' });
  } catch {
    noteServer(false);
    throw new Error(t('ops.unreachable'));
  }
  noteServer(true);
  const parsed = (await r.json().catch(() => null)) as (T & { error?: ApiError }) | null;
  return { status: r.status, ok: r.ok, body: r.ok ? parsed : null, error: r.ok ? null : (parsed?.error ?? { code: `http_${r.status}`, message: '' }) };
}

// The body, or an Error carrying the server's answer in the page's language.
export async function read<T>(path: string): Promise<T> {
  const a = await call<T>(path);
  if (!a.ok || a.body === null) throw new Error(describe(a));
  return a.body;
}

// "The server answered 409 conflict: <message> (field: <field>)".
export function describe(a: Answer<unknown>): string {
  const e = a.error;
  const text = t('ops.answer', { status: a.status, code: e?.code ?? '', message: e?.message ?? '' });
  return e?.field ? `${text} ${t('ops.field', { field: e.field })}` : text;
}
