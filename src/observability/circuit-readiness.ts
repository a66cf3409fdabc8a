/**
 * The circuit breakers as `/health/ready` shows them (its `circuits` field): each model or
 * backend that has failed since it last answered. An open circuit does not make the gateway
 * unready: its model's fallbacks serve meanwhile, and it is tried again after its cool-down.
 */
import type { CircuitReport } from '../core/circuit-breakers.js';
import { redactSecrets } from '../core/secrets.js';

export interface CircuitReadiness {
  backend: string;
  /** The model's upstream id; null for the whole backend's circuit. */
  model: string | null;
  /** `closed` (failing, not skipped yet), `open` (skipped), `half_open` (one try may go). */
  state: CircuitReport['state'];
  /** Failures in a row. */
  failures: number;
  /** Seconds until an open circuit lets a try through. */
  retry_in_seconds: number;
  last_error: string | null;
}

export function circuitReadiness(circuits: readonly CircuitReport[]): CircuitReadiness[] {
  return circuits.map((circuit) => ({
    backend: circuit.backend,
    model: circuit.model ?? null,
    state: circuit.state,
    failures: circuit.failures,
    retry_in_seconds: Math.ceil(circuit.retryInMs / 1000),
    last_error: circuit.lastError === undefined ? null : redactSecrets(circuit.lastError),
  }));
}
