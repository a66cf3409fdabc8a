/**
 * Secrets that must never leave the process inside text the gateway did not write itself
 * (an upstream's error message, a log line): the key-shaped strings (client keys
 * `obk_<id>_<secret>`, OpenRouter and OpenAI keys `sk-…`, bearer tokens, key-like query
 * parameters) and the literal secrets each running gateway was configured with.
 *
 * The literal secrets live in one process-wide registry. Upstream errors are mapped to
 * GatewayErrors far from any app (stream decoders, the relay), so the registry is what lets
 * one function redact them all. It is safe to share: a gateway only adds to it while it runs
 * and takes back exactly what it added when it closes (counted, so two gateways with the same
 * key in one process do not undo each other), and redacting another running gateway's secret
 * is never wrong.
 */

export const REDACTED = '[redacted]';

/** Shorter literal secrets are not redacted: they would garble ordinary words ("ollama"). */
export const MIN_SECRET_LENGTH = 8;

/**
 * Key shapes, whatever their source: a client key (its id is kept: logs and `keys list` show
 * it), an OpenRouter or OpenAI key (the kind is kept), a bearer token, a key-like query
 * parameter. Case-sensitive literals keep the scan fast (under a microsecond for a log line).
 */
const KEY_SHAPES = /obk_([a-z0-9]{8})_[A-Za-z0-9]{16,}|(sk-(?:or-v1-|or-|proj-|ant-)?)[\w-]{16,}|((?:[Bb]earer|BEARER)\s+)[\w.~+/=-]{12,}|([?&]([\w-]{3,12})=)[^&#\s"'\\]+/g;

/** Query parameters that carry keys, in any case. */
const KEY_PARAMETERS = new Set(['key', 'api_key', 'apikey', 'api-key', 'token', 'access_token']);

/** Key-like query parameters of a URL (the query part only). */
const QUERY_PARAMETER = /([?&])([^=&#]*)=[^&#]*/g;

function redactShape(match: string, clientKeyId: string | undefined, keyKind: string | undefined, bearer: string | undefined, parameter: string | undefined, parameterName: string | undefined, offset: number, text: string): string {
  if (parameter !== undefined) return KEY_PARAMETERS.has(parameterName!.toLowerCase()) ? `${parameter}${REDACTED}` : match;
  // Inside a longer word ("task-…") it is not a key.
  if (offset > 0 && /\w/.test(text[offset - 1]!)) return match;
  if (clientKeyId !== undefined) return `obk_${clientKeyId}_${REDACTED}`;
  return `${keyKind ?? bearer ?? ''}${REDACTED}`;
}

const registered = new Map<string, number>();
let literalPattern: RegExp | undefined;
let literalPatternStale = false;

/** `text` with every registered secret and every key-shaped string replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  if (literalPatternStale) rebuildLiteralPattern();
  const withoutLiterals = literalPattern === undefined ? text : text.replace(literalPattern, REDACTED);
  return withoutLiterals.replace(KEY_SHAPES, redactShape);
}

/** A URL (path and query) with the values of key-like query parameters redacted, for logs. */
export function redactUrl(url: string): string {
  if (url.indexOf('?') === -1) return url;
  return url.replace(QUERY_PARAMETER, (match: string, separator: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // A malformed name is compared as it is.
    }
    return KEY_PARAMETERS.has(decoded.toLowerCase()) ? `${separator}${name}=${REDACTED}` : match;
  });
}

/** One gateway's secrets in the registry, from its start until `release`. */
export interface SecretRegistration {
  /** Adds a secret learnt later (a reloaded keys file); empty and short ones are ignored. */
  add(secret: string | undefined): void;
  /** Takes back everything this registration added. */
  release(): void;
}

export function registerSecrets(secrets: Iterable<string | undefined> = []): SecretRegistration {
  const own = new Set<string>();
  let released = false;
  const add = (secret: string | undefined): void => {
    if (released || secret === undefined) return;
    for (const form of writtenForms(secret)) {
      if (form.length < MIN_SECRET_LENGTH || own.has(form)) continue;
      own.add(form);
      registered.set(form, (registered.get(form) ?? 0) + 1);
      literalPatternStale = true;
    }
  };
  for (const secret of secrets) add(secret);
  return {
    add,
    release: () => {
      if (released) return;
      released = true;
      for (const form of own) {
        const count = (registered.get(form) ?? 1) - 1;
        if (count === 0) registered.delete(form);
        else registered.set(form, count);
      }
      own.clear();
      literalPatternStale = true;
    },
  };
}

/** The secret as it is, and as it appears inside a JSON string (a log line) if that differs. */
function writtenForms(secret: string): string[] {
  const trimmed = secret.trim();
  if (trimmed === '') return [];
  const inJson = JSON.stringify(trimmed).slice(1, -1);
  return inJson === trimmed ? [trimmed] : [trimmed, inJson];
}

function rebuildLiteralPattern(): void {
  literalPatternStale = false;
  // Longest first, so a secret that contains another is replaced whole.
  const secrets = [...registered.keys()].sort((left, right) => right.length - left.length);
  literalPattern = secrets.length === 0 ? undefined : new RegExp(secrets.map(escapeRegExp).join('|'), 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
