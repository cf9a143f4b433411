// `GET /servers/provision`: asks the balancer for the least-loaded server and a ticket to connect with.
import { errorBodySchema, provisionResponseSchema } from '@chatfleet/protocol';
import { ChatClientError, ClientErrorCode } from './errors.js';
import type { ProvisionAnswer } from './types.js';

export interface ProvisionRequest {
  /** Balancer base URL, e.g. `http://localhost:3000`. */
  balancer: string;
  user?: string | undefined;
  sig?: string | undefined;
  /** A room the client is about to join, so the balancer can prefer a server that hosts it. */
  room?: string | undefined;
  /** Aborts the request. */
  signal?: AbortSignal | undefined;
  fetch?: typeof fetch | undefined;
}

/** Builds the provision URL for a request. */
export function provisionUrl(request: Pick<ProvisionRequest, 'balancer' | 'user' | 'sig' | 'room'>): string {
  const url = new URL('/servers/provision', request.balancer);
  if (request.user !== undefined) url.searchParams.set('user', request.user);
  if (request.sig !== undefined) url.searchParams.set('sig', request.sig);
  if (request.room !== undefined) url.searchParams.set('room', request.room);
  return url.toString();
}

/**
 * Provisions a server. Resolves with the balancer's answer (its `url` already
 * carries the token); rejects with a ChatClientError whose code is
 * `provision_failed` (with the HTTP status and the balancer's error code in
 * the message) or `balancer_unreachable`.
 */
export async function provision(request: ProvisionRequest): Promise<ProvisionAnswer> {
  const doFetch = request.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(provisionUrl(request), {
      headers: { accept: 'application/json' },
      signal: request.signal ?? null,
    });
  } catch (error) {
    throw new ChatClientError(
      ClientErrorCode.balancerUnreachable,
      `balancer ${request.balancer} unreachable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 200) {
    const parsed = errorBodySchema.safeParse(body);
    const detail = parsed.success ? `${parsed.data.error}: ${parsed.data.message}` : text.slice(0, 200);
    throw new ChatClientError(
      ClientErrorCode.provisionFailed,
      `provision answered ${response.status} (${detail})`,
      response.status,
      parsed.success ? parsed.data.error : undefined,
    );
  }
  const parsed = provisionResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new ChatClientError(ClientErrorCode.provisionFailed, `provision answered an unexpected body: ${text.slice(0, 200)}`, 200);
  }
  return parsed.data;
}
