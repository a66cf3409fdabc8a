/** The admin API as the page calls it: JSON in and out, the session cookie, and the CSRF header. */
import type { ApiError } from '../../src/admin/api-types';

export const API_BASE = '/admin/api';

/** An API answer that was not 2xx, with the server's `{"error": "..."}` message. */
export class ApiFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when an API call answers 401 (the session ended): the page goes back to sign-in. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`${API_BASE}/${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiFailure(0, 'The gateway did not answer (is it running?)');
  }
  const text = await response.text();
  const parsed = parseJson(text);
  if (!response.ok) {
    const message = errorMessage(parsed) ?? `The gateway answered HTTP ${response.status}`;
    if (response.status === 401 && path !== 'session') onSignedOut();
    throw new ApiFailure(response.status, message);
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as Partial<ApiError>).error;
  return typeof error === 'string' ? error : undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
