/**
 * Every setting, as flat environment-style keys: the one definition the merged settings
 * (flags > environment > .env) are checked against, once (src/settings-check.ts).
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const url = z.string().refine((value) => URL.canParse(value), { message: 'must be an absolute URL' });
const milliseconds = z.coerce.number().int().min(0);

const WORKERS_MESSAGE = 'must be a whole number from 1 to 256, or auto';

/** proxy-addr's named ranges (127.0.0.1/8 and ::1; 169.254.0.0/16 and fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const TRUST_PROXY_MESSAGE = 'give false, true (every peer) or the proxies\' addresses and CIDR ranges, comma-separated (e.g. 127.0.0.1,10.0.0.0/8; loopback, linklocal and uniquelocal name ranges)';

/** Whether `entry` is an IP address, an address/prefix-length range (prefix 1 to 32 or 128), or a named range. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const slash = entry.lastIndexOf('/');
  const version = isIP(slash === -1 ? entry : entry.slice(0, slash));
  if (version === 0 || slash === -1) return version !== 0;
  const prefix = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** TRUST_PROXY as Fastify's trustProxy takes it: false, true, or a list of addresses and ranges. */
const trustProxy = z.string().transform((text, context): boolean | string[] => {
  const value = text.trim().toLowerCase();
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    context.addIssue({ code: 'custom', message: `a hop count (${value}) is not taken: it cannot tell a proxy from a client that connects directly and sends X-Forwarded-For itself; ${TRUST_PROXY_MESSAGE}` });
    return z.NEVER;
  }
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const wrong = entries.filter((entry) => !isProxyAddress(entry));
  if (entries.length === 0 || wrong.length > 0) {
    const said = wrong.length === 0 ? 'no address given' : `not an address or range: ${wrong.map((entry) => `"${entry}"`).join(', ')}`;
    context.addIssue({ code: 'custom', message: `${said}; ${TRUST_PROXY_MESSAGE}` });
    return z.NEVER;
  }
  return entries;
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = z.object({
  OPENROUTER_API_KEY: z.string().optional(),
  /** A file holding the OpenRouter key (how Docker and Kubernetes mount secrets); read at start-up into OPENROUTER_API_KEY. */
  OPENROUTER_API_KEY_FILE: z.string().optional(),
  OPENROUTER_BASE_URL: url.default('https://openrouter.ai/api/v1'),
  /** A real Ollama server to serve next to (or instead of) OpenRouter. */
  OLLAMA_BASE_URL: url.optional(),
  /** Which backend wins when both have a model of the same name. */
  PREFER_BACKEND: z.enum(['ollama', 'openrouter']).default('ollama'),
  MODELS_FILTER: z.string().optional(),
  /** JSON or YAML file with model aliases and per-model overrides. */
  MODELS_CONFIG: z.string().optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(11434),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** json: one JSON object per line; pretty: readable lines; auto: pretty on a terminal, else json. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /**
   * The Ollama version /api/version reports (the API level this gateway implements): 0.32.11, whose
   * /v1 reasoning efforts (`minimal`, `xhigh`, `max`) are the newest Ollama behaviour served.
   */
  OLLAMA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default('0.32.11'),
  /** Largest request body (base64 images make multi-MB bodies normal). */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  /** Largest blob upload (`POST /api/blobs/:digest`, model weights for an upstream Ollama); 64 GiB holds a 70B model at 4 bits. */
  BLOB_LIMIT_BYTES: z.coerce.number().int().min(1).default(64 * 1024 * 1024 * 1024),
  UPSTREAM_CONNECT_TIMEOUT_MS: milliseconds.default(10_000),
  /** Request sent → response headers. OpenRouter commits its headers early, then sends keep-alive comments. */
  UPSTREAM_HEADERS_TIMEOUT_MS: milliseconds.default(300_000),
  /**
   * Longest silence between two chunks of an answer; OpenRouter's keep-alive comments and
   * Ollama's NDJSON lines reset it. 0 = no limit. A minute: OpenRouter's own proxy drops a
   * connection after about two minutes without a byte, and a client should not hang that long.
   */
  UPSTREAM_BODY_TIMEOUT_MS: milliseconds.default(60_000),
  /** Longest a client may take to send its request (headers and body); never limits the answer. 0 = no limit. */
  REQUEST_RECEIVE_TIMEOUT_MS: milliseconds.default(300_000),
  /** Longest wait before a retry of the same model (Retry-After included: a longer one moves to the next fallback at once). */
  RETRY_MAX_WAIT_MS: milliseconds.default(5_000),
  /** No retry or fallback starts later than this after a request's first try began. */
  RETRY_TOTAL_MS: milliseconds.default(30_000),
  /** How long the model catalog is served before it is refreshed in the background. */
  CATALOG_TTL_SECONDS: z.coerce.number().int().min(10).default(600),
  /** Hashed client keys (`ollama-bridge keys create`), or a plain keys.txt (warned about). Hot-reloaded. */
  BRIDGE_KEYS_FILE: z.string().optional(),
  /** Comma-separated client keys, for simple setups. */
  BRIDGE_API_KEYS: z.string().optional(),
  /** Allow binding a non-loopback address with no client keys configured. */
  ALLOW_UNAUTHENTICATED: z.boolean().default(false),
  /** With no keys on a non-loopback address, generate one for this run and print it once (the Docker image sets this). */
  BRIDGE_GENERATE_KEY: z.boolean().default(false),
  /** Default per-key requests per minute; 0 = no limit. */
  RATE_LIMIT_RPM: z.coerce.number().int().min(0).default(0),
  /** Default per-key tokens per minute (from reported usage); 0 = no limit. */
  RATE_LIMIT_TPM: z.coerce.number().int().min(0).default(0),
  /** Default USD a key may spend per budget period (a key's own budget overrides it); without keys, the gateway's; 0 = none. */
  BUDGET_USD: z.coerce.number().min(0).default(0),
  /** The period of the default budget, calendar UTC (a week starts on Monday). */
  BUDGET_PERIOD: z.enum(['day', 'week', 'month', 'total']).default('month'),
  /** /metrics without a key even when keys are configured (else it needs an admin key). */
  METRICS_PUBLIC: z.boolean().default(false),
  /** Extra allowed browser origins, comma-separated (as Ollama's OLLAMA_ORIGINS). */
  OLLAMA_ORIGINS: z.string().optional(),
  /**
   * Whose X-Forwarded-For, -Proto and -Host are believed (Fastify's trustProxy): nobody (false,
   * the default: a client could forge them), every peer (true), or these proxies' addresses.
   */
  TRUST_PROXY: trustProxy.default(false),
  /** On SIGINT/SIGTERM, how long open streams may take to finish before they are cut. */
  SHUTDOWN_GRACE_MS: milliseconds.default(10_000),
  /** Record every answered request in the usage database (`--no-usage`, USAGE=false: off). */
  USAGE: z.boolean().default(true),
  /** The usage database (SQLite); default ~/.ollama-bridge/usage.db. */
  USAGE_DB: z.string().optional(),
  /** Days of per-request detail kept (whole UTC days); the daily totals are kept for ever. */
  USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  /** The usage ledger in PostgreSQL, shared by several gateways (replaces USAGE_DB): postgres:// or postgresql://. A password in it is a secret. */
  DATABASE_URL: url.refine((value) => /^postgres(ql)?:\/\//i.test(value), { message: 'must be a postgres:// or postgresql:// URL' }).optional(),
  /** Redis shared by several gateways (rate limits, budget spend, key changes, /api/ps): redis:// or rediss://. A password in it is a secret. */
  REDIS_URL: url.refine((value) => /^rediss?:\/\//i.test(value), { message: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Signs admin sessions: give every gateway behind one load balancer the same one (default: random at each start). A secret. */
  ADMIN_SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters (e.g. openssl rand -base64 32)' }).optional(),
  /** Processes serving the port (node:cluster): a number, or auto = one per core; 1 = no cluster. */
  WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)], { error: WORKERS_MESSAGE }).default(1),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigKey = keyof Config;
