/**
 * The one place every chat front door opens its upstream call (Ollama's /api/chat and
 * /api/generate with their passthrough, /v1 with its relay, /v1/messages, /v1/responses):
 * the model asked for, its retries and its fallbacks (the models config's), tried by
 * core/upstream-tries.ts until one answer has started. A fallback passes the same checks as
 * the model asked for: the models filter (the catalog serves only what it lets through), the
 * key's model list, and the route's own check of the model (capabilities); one that fails
 * them is skipped and logged, never used. The key's budget is the key's, whatever the model:
 * it was checked when the request came, and a failed try spends nothing.
 *
 * The model that serves is named in the `X-Ollama-Bridge-Model` header, in the request's
 * usage (the ledger's `modelServed`, the log line) and in a log line per failed try.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '#schemas/config.js';
import { mayUseModel } from '../auth/access-control.js';
import type { CatalogEntry, ModelCatalog } from '../core/model-catalog.js';
import { CircuitBreakers } from '../core/circuit-breakers.js';
import { runTries, sleep, type TriesPolicy, type TryTarget } from '../core/upstream-tries.js';
import { GatewayError } from '../errors.js';
import { abortOnClientClose } from '../streaming/client-abort.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** How retries and fallbacks wait and when they stop, and the circuit breakers (tests pin the clock and the random part). */
    upstreamTries: TriesPolicy;
  }
}

/** The response header that names the model that served (the catalog's id of it). */
export const SERVED_MODEL_HEADER = 'x-ollama-bridge-model';

/** The policy from the settings, with this app's circuit breakers (/health/ready and /metrics read them here). */
export function triesPolicy(config: Pick<Config, 'RETRY_MAX_WAIT_MS' | 'RETRY_TOTAL_MS'>): TriesPolicy {
  return { circuits: new CircuitBreakers(), maxWaitMs: config.RETRY_MAX_WAIT_MS, totalMs: config.RETRY_TOTAL_MS, random: Math.random, now: Date.now, sleep };
}

interface EntryTarget extends TryTarget {
  entry: CatalogEntry;
  /** False for the model asked for. */
  fallback: boolean;
}

export interface OpenOptions<Result> {
  /** The name the client sent (for the log). */
  requestedName: string;
  /** Only the model asked for and its retries (a request only another model cannot answer: loading a model). */
  withoutFallbacks?: boolean;
  /** Throws (a GatewayError) when this route cannot use the model: a fallback that does is skipped. */
  accepts?: (entry: CatalogEntry) => void;
  /**
   * One try on one model: resolves once its answer has started, before any byte goes to the
   * client. `final`: no other try follows should it fail (a passthrough then relays the
   * upstream's error status as it is).
   */
  attempt: (entry: CatalogEntry, signal: AbortSignal, final: boolean, fallback: boolean) => Promise<Result>;
}

/** Opens the answer on the model asked for, or on a retry or fallback of it; throws the last upstream error when none answers. */
export async function openWithFallbacks<Result>(request: FastifyRequest, reply: FastifyReply, catalog: ModelCatalog, entry: CatalogEntry, options: OpenOptions<Result>): Promise<{ entry: CatalogEntry; result: Result }> {
  const signal = abortOnClientClose(reply);
  const first: EntryTarget = targetOf(entry, false);
  const fallbackNames = options.withoutFallbacks === true ? [] : entry.routing?.fallbacks ?? [];
  const fallbacks = fallbackNames.length === 0 ? [] : await usableFallbacks(request, catalog, entry, fallbackNames, options);
  const usage = request.usage;
  let tried = 0;
  const { target, result } = await runTries<EntryTarget, Result>({
    first,
    fallbacks,
    signal,
    log: request.log,
    attempt: async (candidate, final) => {
      if (tried++ > 0) usage.nextTry();
      usage.servedBy(candidate.entry.adapter.name, candidate.entry.info.id, candidate.entry.price ?? candidate.entry.info.price);
      reply.header(SERVED_MODEL_HEADER, candidate.entry.info.id);
      try {
        return await options.attempt(candidate.entry, signal, final, candidate.fallback);
      } catch (error) {
        if (!reply.sent) reply.removeHeader(SERVED_MODEL_HEADER);
        throw error;
      }
    },
  }, request.server.upstreamTries);
  if (target.fallback) request.log.info({ model: options.requestedName, modelServed: target.entry.info.id, backend: target.backend }, `${options.requestedName} is served by its fallback ${target.entry.name}`);
  return { entry: target.entry, result };
}

function targetOf(entry: CatalogEntry, fallback: boolean): EntryTarget {
  return { entry, fallback, backend: entry.adapter.name, model: entry.info.id, retries: entry.routing?.retries ?? 0 };
}

/** The fallbacks this request may use, in order; each one it may not is logged with why. */
async function usableFallbacks<Result>(request: FastifyRequest, catalog: ModelCatalog, primary: CatalogEntry, names: readonly string[], options: OpenOptions<Result>): Promise<EntryTarget[]> {
  const targets: EntryTarget[] = [];
  const seen = new Set([primary.info.id]);
  for (const name of names) {
    try {
      const entry = await catalog.resolve(name);
      if (!mayUseModel(request, entry)) throw new GatewayError('FORBIDDEN', `this API key may not use model '${name}'`);
      options.accepts?.(entry);
      if (seen.has(entry.info.id)) continue;
      seen.add(entry.info.id);
      targets.push(targetOf(entry, true));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      request.log.warn({ model: options.requestedName, fallback: name, reason }, `fallback ${name} of ${options.requestedName} skipped: ${reason}`);
    }
  }
  return targets;
}
