/**
 * The REST helper: same origin, the session cookie, the header the server's CSRF check
 * asks for, JSON in and out. A 401 sends the person to the sign-in page, except on the
 * pages that exist to get a session (they handle it themselves).
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body: unknown) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** The shell tells the helper what to do when the session is gone. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export interface CallOptions { method?: string; body?: unknown; quiet401?: boolean }

export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { 'X-Requested-With': 'switchboard-console', Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    credentials: 'same-origin',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    if (response.status === 401 && !options.quiet401) onUnauthorized();
    throw new ApiError(response.status, error?.code ?? 'error', error?.message ?? response.statusText, parsed);
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A message to show a person for a refused call. */
export function reasonOf(error: unknown): string {
  if (error instanceof ApiError) return error.message || error.code;
  if (error instanceof Error) return error.message;
  return 'Something went wrong';
}
