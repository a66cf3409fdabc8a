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
