// Turns a failed balancer call into a sentence for the operator, from the {error, message} body when there is one.

export interface ApiFailure {
  /** HTTP status, or 0 when the request never got an answer. */
  status: number;
  /** The body's `error` code (`fleet_full`, `unauthorized`, ...), `network` or `http_<status>`. */
  code: string;
  /** What to show the user. */
  text: string;
}

/** Builds the failure from a non-2xx answer: the body's message when it is a proper error body. */
export function describeHttpFailure(status: number, statusText: string, bodyText: string): ApiFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const body = parsed as Record<string, unknown>;
    if (typeof body.error === 'string' && typeof body.message === 'string') {
      return { status, code: body.error, text: `${body.message} (${body.error}, HTTP ${status})` };
    }
  }
  const snippet = bodyText.trim().slice(0, 120);
  const reason = statusText || 'error';
  return {
    status,
    code: `http_${status}`,
    text: `The balancer answered HTTP ${status} ${reason}${snippet ? `: ${snippet}` : ''}`,
  };
}

/** Builds the failure for a request that got no answer at all. */
export function describeNetworkFailure(error: unknown): ApiFailure {
  const detail = error instanceof Error ? error.message : String(error);
  return { status: 0, code: 'network', text: `Could not reach the balancer (${detail}). Is it running?` };
}
