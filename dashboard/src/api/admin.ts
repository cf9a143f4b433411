// The balancer's admin routes (spawn, drain, redistribute) with the Bearer token, answering in words on failure.
import { describeHttpFailure, describeNetworkFailure, type ApiFailure } from './errors.js';

export type AdminResult = { ok: true; status: number; body: unknown } | { ok: false; failure: ApiFailure };

const TOKEN_KEY = 'chatfleet.adminToken';

/** The admin token kept for this browser tab, or '' when none was given. */
export function loadAdminToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Keeps the token for this tab only (sessionStorage): it is gone when the tab closes. */
export function saveAdminToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token then lives only as long as the page's memory (passed per call).
  }
}

async function adminCall(method: 'POST' | 'DELETE', path: string, token: string, body?: unknown): Promise<AdminResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== '') headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    return { ok: false, failure: describeNetworkFailure(error) };
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) return { ok: false, failure: describeHttpFailure(response.status, response.statusText, text) };
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { ok: true, status: response.status, body: parsed };
}

/** `POST /servers`: spawn one managed server. */
export function spawnServer(token: string): Promise<AdminResult> {
  return adminCall('POST', '/servers', token);
}

/** `DELETE /servers/:id`: drain the server (its clients move elsewhere, then it exits). */
export function drainServer(token: string, id: string): Promise<AdminResult> {
  return adminCall('DELETE', `/servers/${encodeURIComponent(id)}`, token);
}

/** `POST /servers/:id/redistribute {fraction}`: move that share of the server's clients to the least-loaded peer. */
export function redistributeServer(token: string, id: string, fraction: number): Promise<AdminResult> {
  return adminCall('POST', `/servers/${encodeURIComponent(id)}/redistribute`, token, { fraction });
}
