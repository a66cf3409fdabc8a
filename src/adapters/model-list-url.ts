/**
 * A backend's model list that answers 404 (or 405), or answers something that is not JSON or
 * not a model list, almost always means a wrong base URL (`--openrouter-url http://host:port`
 * without `/api/v1`). Such a failure is reported as a configuration error that names the URL
 * tried and the setting to change, not as an outage to wait out.
 */
import { GatewayError } from '../errors.js';

export interface ModelListEndpoint {
  upstreamName: string;
  baseUrl: string;
  /** The list's path under the base URL (`/models`, `/api/tags`). */
  path: string;
  /** The setting that holds the base URL, as an operator types it. */
  setting: string;
  /** What a right value looks like. */
  example: string;
}

/** The configuration error a failed model-list fetch stands for, or undefined when it looks like an outage. */
export function wrongUrlError(endpoint: ModelListEndpoint, error: unknown): GatewayError | undefined {
  if (!(error instanceof GatewayError)) return undefined;
  if (error.code === 'UPSTREAM_ERROR' && (error.statusCode === 404 || error.statusCode === 405)) {
    const said = error.message.startsWith(`${endpoint.upstreamName} answered HTTP`) || error.message.length > 80 || error.message.includes('\n') ? '' : ` (${error.message})`;
    return notAModelList(endpoint, `answered HTTP ${error.statusCode}${said}`, error);
  }
  if (error.code === 'UPSTREAM_BAD_RESPONSE' && error.cause instanceof SyntaxError) return notAModelList(endpoint, 'answered with something that is not JSON', error);
  return undefined;
}

/** The configuration error for a list URL that answered, but not with a model list. */
export function notAModelList(endpoint: ModelListEndpoint, what: string, cause?: unknown): GatewayError {
  return new GatewayError(
    'CONFIG_INVALID',
    `${endpoint.upstreamName}'s model list at ${shownUrl(endpoint)} ${what}: this looks like a configuration error; check ${endpoint.setting}, which must be the API's base URL (such as ${endpoint.example})`,
    cause === undefined ? {} : { cause },
  );
}

/** The URL tried, without credentials or a query string. */
function shownUrl(endpoint: ModelListEndpoint): string {
  try {
    const url = new URL(`${endpoint.baseUrl.replace(/\/+$/, '')}${endpoint.path}`);
    return `${url.origin}${url.pathname}`;
  } catch {
    return endpoint.path;
  }
}
