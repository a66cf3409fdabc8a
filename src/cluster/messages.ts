/** What the primary of `--workers` and its workers tell each other (IPC messages and the environment of a fork). */

/** Set for the first worker only: it prints the start-up summary. */
export const SUMMARY_ENV = 'OLLAMA_BRIDGE_WORKER_SUMMARY';
/** The key the first worker generated at start-up, for the workers after it (read, then removed from the environment). */
export const GENERATED_KEY_ENV = 'OLLAMA_BRIDGE_WORKER_GENERATED_KEY';

/** The secret that signs admin sessions, one for all workers, so a session works on whichever worker takes its next request. */
export const ADMIN_SESSION_SECRET_ENV = 'OLLAMA_BRIDGE_WORKER_ADMIN_SESSION_SECRET';

/** Worker → primary: it serves. */
const LISTENING_TYPE = 'ollama-bridge:listening';
/** Primary → worker: stop gracefully (rolling restart, SIGTERM). */
export const STOP_MESSAGE = 'ollama-bridge:stop';

export interface ListeningMessage {
  type: typeof LISTENING_TYPE;
  generatedKey?: string;
}

export function listeningMessage(generatedKey: string | undefined): ListeningMessage {
  return generatedKey === undefined ? { type: LISTENING_TYPE } : { type: LISTENING_TYPE, generatedKey };
}

export function isListeningMessage(message: unknown): message is ListeningMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === LISTENING_TYPE;
}

/**
 * The exchange between workers, through the primary (exchange-worker.ts, exchange-primary.ts).
 * A worker says it takes part (hello); it may gather a topic's reports from every other worker
 * (gather → report to each → reported → gathered), or tell the primary something one-way
 * (tell), which the primary may pass on (told).
 */
export const EXCHANGE = {
  hello: 'ollama-bridge:hello',
  gather: 'ollama-bridge:gather',
  report: 'ollama-bridge:report',
  reported: 'ollama-bridge:reported',
  gathered: 'ollama-bridge:gathered',
  tell: 'ollama-bridge:tell',
  told: 'ollama-bridge:told',
} as const;

export interface ExchangeMessage {
  type: (typeof EXCHANGE)[keyof typeof EXCHANGE];
  /** gather, report, reported, gathered: the asker's (or the primary's) number for the exchange. */
  id?: number;
  /** gather, report, tell, told. */
  topic?: string;
  payload?: unknown;
  /** gathered: every answer, the primary's own last. */
  answers?: unknown[];
}

const EXCHANGE_TYPES = new Set<string>(Object.values(EXCHANGE));

export function isExchangeMessage(message: unknown): message is ExchangeMessage {
  return typeof message === 'object' && message !== null && EXCHANGE_TYPES.has((message as { type?: unknown }).type as string);
}

/** The topics the workers exchange. */
export const TOPIC = {
  /** gather: every worker's metrics (metrics-across-workers.ts); the primary adds those of workers gone. */
  metrics: 'metrics',
  /** tell: a worker's counters and histograms as it closes, kept by the primary. */
  metricsFinal: 'metrics-final',
  /** gather: every worker's last answered requests and keys' last use (live-across-workers.ts). */
  liveRecent: 'live-recent',
  /** tell: this worker has Live followers (true) or no more (false). */
  liveFollowing: 'live-following',
  /** told: whether another worker has Live followers (send them your answered requests). */
  liveWanted: 'live-wanted',
  /** tell, then told to the workers with followers: one answered request. */
  liveRequest: 'live-request',
  /** gather: an admin session signed out; each worker refuses it from then on (sign-outs-across-workers.ts). */
  signOut: 'sign-out',
  /** gather, the primary only: the sessions signed out and not expired yet (a worker starting). */
  signOuts: 'sign-outs',
  /** gather, the primary only: admit a request against a window the primary keeps for every worker (limiter-across-workers.ts). */
  limiterAdmit: 'limiter-admit',
  /** tell: tokens counted in such a window. */
  limiterTokens: 'limiter-tokens',
} as const;
