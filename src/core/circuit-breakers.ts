/**
 * Circuit breakers, one per model and one per backend. After `failureThreshold` failures in a
 * row a circuit opens: the model (or every model of the backend) is skipped for a cool-down,
 * doubled each time a half-open try fails again (up to `maxCoolDownMs`). Once the cool-down is
 * over, one request may try it (half open): a success closes the circuit, a failure opens it
 * again. Only circuits that have failed are kept; a success forgets them. Pure: the clock is
 * given.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitOptions {
  now?: () => number;
  /** Failures in a row that open a circuit (default 3). */
  failureThreshold?: number;
  /** The first cool-down (default 10 s). */
  baseCoolDownMs?: number;
  /** The longest cool-down (default 5 min). */
  maxCoolDownMs?: number;
}

/** One circuit that has failed, as /health/ready and /metrics show it. */
export interface CircuitReport {
  /** The backend (`openrouter`, `ollama`). */
  backend: string;
  /** The model's upstream id; undefined for the backend's own circuit. */
  model: string | undefined;
  state: CircuitState;
  /** Failures in a row. */
  failures: number;
  /** Milliseconds until an open circuit lets a try through (0 when it does now). */
  retryInMs: number;
  lastError: string | undefined;
}

interface Circuit {
  failures: number;
  opened: boolean;
  /** When an open circuit lets one try through. */
  openUntil: number;
  coolDownMs: number;
  /** A half-open try is under way since this time (undefined when none is). */
  probeSince: number | undefined;
  lastError: string | undefined;
}

const DEFAULT_THRESHOLD = 3;
const DEFAULT_BASE_COOL_DOWN_MS = 10_000;
const DEFAULT_MAX_COOL_DOWN_MS = 300_000;

export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly now: () => number;
  private readonly failureThreshold: number;
  private readonly baseCoolDownMs: number;
  private readonly maxCoolDownMs: number;

  constructor(options: CircuitOptions = {}) {
    this.now = options.now ?? Date.now;
    this.failureThreshold = options.failureThreshold ?? DEFAULT_THRESHOLD;
    this.baseCoolDownMs = options.baseCoolDownMs ?? DEFAULT_BASE_COOL_DOWN_MS;
    this.maxCoolDownMs = options.maxCoolDownMs ?? DEFAULT_MAX_COOL_DOWN_MS;
  }

  /**
   * Whether a try of this model may go ahead now: neither its circuit nor its backend's is
   * open. A circuit past its cool-down lets this one try through (half open) and holds the
   * others back until it is told how that went (or for another cool-down, should it never be).
   */
  allows(backend: string, model: string): boolean {
    const now = this.now();
    const backendCircuit = this.circuits.get(backendKey(backend));
    const modelCircuit = this.circuits.get(modelKey(backend, model));
    if (!isPassable(backendCircuit, now) || !isPassable(modelCircuit, now)) return false;
    for (const circuit of [backendCircuit, modelCircuit]) if (circuit?.opened === true) circuit.probeSince = now;
    return true;
  }

  /** The model answered: its circuit and its backend's close. */
  succeeded(backend: string, model: string): void {
    if (this.circuits.size === 0) return;
    this.circuits.delete(modelKey(backend, model));
    this.circuits.delete(backendKey(backend));
  }

  /**
   * A try failed with a retryable fault. `backendWide`: the backend itself could not be
   * reached or did not answer in time, which counts against every model it serves.
   */
  failed(backend: string, model: string, reason: string, backendWide: boolean): void {
    this.fail(modelKey(backend, model), reason);
    if (backendWide) this.fail(backendKey(backend), reason);
  }

  /** A try ended without saying whether the model works (the client left): a half-open try may be made again. */
  released(backend: string, model: string): void {
    for (const key of [modelKey(backend, model), backendKey(backend)]) {
      const circuit = this.circuits.get(key);
      if (circuit !== undefined) circuit.probeSince = undefined;
    }
  }

  /** Every circuit that has failed since it last succeeded, backends first. */
  report(): CircuitReport[] {
    const now = this.now();
    const reports: CircuitReport[] = [];
    for (const [key, circuit] of this.circuits) {
      const [scope, backend, model] = key.split('\n') as [string, string, string | undefined];
      reports.push({
        backend,
        model: scope === 'backend' ? undefined : model,
        state: stateOf(circuit, now),
        failures: circuit.failures,
        retryInMs: circuit.opened ? Math.max(0, circuit.openUntil - now) : 0,
        lastError: circuit.lastError,
      });
    }
    return reports.sort((left, right) => Number(left.model !== undefined) - Number(right.model !== undefined));
  }

  private fail(key: string, reason: string): void {
    const now = this.now();
    let circuit = this.circuits.get(key);
    if (circuit === undefined) {
      circuit = { failures: 0, opened: false, openUntil: 0, coolDownMs: this.baseCoolDownMs, probeSince: undefined, lastError: undefined };
      this.circuits.set(key, circuit);
    }
    circuit.failures++;
    circuit.lastError = reason;
    if (circuit.opened) {
      // A half-open try failed (or a try that began before it opened): a longer cool-down.
      if (circuit.probeSince !== undefined || now >= circuit.openUntil) circuit.coolDownMs = Math.min(this.maxCoolDownMs, circuit.coolDownMs * 2);
      circuit.openUntil = now + circuit.coolDownMs;
      circuit.probeSince = undefined;
    } else if (circuit.failures >= this.failureThreshold) {
      circuit.opened = true;
      circuit.openUntil = now + circuit.coolDownMs;
    }
  }
}

function isPassable(circuit: Circuit | undefined, now: number): boolean {
  if (circuit === undefined || !circuit.opened) return true;
  if (now < circuit.openUntil) return false;
  // Half open: one try at a time; a try never heard of again is given up after a cool-down.
  return circuit.probeSince === undefined || now - circuit.probeSince >= circuit.coolDownMs;
}

function stateOf(circuit: Circuit, now: number): CircuitState {
  if (!circuit.opened) return 'closed';
  return now < circuit.openUntil ? 'open' : 'half_open';
}

function modelKey(backend: string, model: string): string {
  return `model\n${backend}\n${model}`;
}

function backendKey(backend: string): string {
  return `backend\n${backend}`;
}
