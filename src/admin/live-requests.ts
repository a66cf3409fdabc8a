/**
 * The Live view's feed: the last answered requests (a ring of 100, from `app.usageEvents`) and
 * each new one as it is answered, as LiveRequest: route, model, key name, status, tokens, cost
 * and timings; never the prompt or the answer (a UsageRecord holds neither). Also when each
 * key last made a request.
 *
 * With peers (the other workers of `--workers`, cluster/live-across-workers.ts) the feed is the
 * whole gateway's: the recent requests and keys' last use are gathered from every worker when
 * asked for, and while this worker has followers the others send each request they answer.
 * A follower gets the gathered recent requests, then each new one, none twice: a peer's
 * request heard while the gather was out is passed on only if that peer's report (numbered)
 * did not hold it.
 */
import type { UsageEvents, UsageRecord } from '../usage/usage-record.js';
import type { LiveRequest } from './api-types.js';

const KEPT = 100;

export type LiveListener = (request: LiveRequest) => void;

/** One process's part of the feed. */
export interface LiveReport {
  /** Which process (a worker id). */
  source: string;
  /** How many requests it had answered when it reported. */
  seq: number;
  /** Its kept requests, oldest first. */
  recent: LiveRequest[];
  /** Key id → Unix ms. */
  lastUsedByKey: Array<[string, number]>;
}

/** A request answered by a peer, numbered as its reports count. */
export interface LiveEvent {
  source: string;
  seq: number;
  request: LiveRequest;
}

/** The other processes of one gateway. */
export interface LivePeers {
  /** This process's name in reports and events. */
  readonly source: string;
  /** Whether a peer has followers: this process's requests are then sent to them. */
  readonly wanted: boolean;
  /** The peers' reports. */
  reports(): Promise<LiveReport[]>;
  /** What this process answers when a peer gathers the reports. */
  answerReports(reporter: () => LiveReport): void;
  /** This process has followers (true) or none any more (false). */
  following(on: boolean): void;
  publish(event: LiveEvent): void;
  onEvent(listener: (event: LiveEvent) => void): void;
}

interface Follower {
  listener: LiveListener;
  /** Peers' requests heard while the recent ones are gathered; undefined once they are sent. */
  heard: LiveEvent[] | undefined;
}

function liveRequestOf(record: UsageRecord): LiveRequest {
  return {
    at: new Date(record.startedAt).toISOString(),
    method: record.method,
    route: record.route,
    model: record.modelRequested ?? null,
    modelServed: record.modelServed ?? null,
    keyName: record.keyName ?? null,
    status: record.status,
    outcome: record.outcome,
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    costUsd: record.costUsd,
    timeToFirstTokenMs: record.timeToFirstTokenMs ?? null,
    durationMs: record.durationMs,
  };
}

export class LiveRequests {
  /** This process's, oldest first; made into LiveRequests only when read (most are never). */
  private readonly kept: UsageRecord[] = [];
  /** Requests this process has answered. */
  private seq = 0;
  private readonly followers = new Set<Follower>();
  /** When each key (by id) last made a request here (Unix ms), since this process started. */
  private readonly ownLastUse = new Map<string, number>();

  constructor(events: UsageEvents, private readonly peers?: LivePeers) {
    events.subscribe((record) => this.add(record));
    peers?.answerReports(() => this.report());
    peers?.onEvent((event) => this.heard(event));
  }

  /** The kept requests of every process, oldest first (the last 100 answered). */
  async recent(): Promise<readonly LiveRequest[]> {
    if (this.peers === undefined) return this.kept.map(liveRequestOf);
    return mergeRecent([this.report(), ...(await this.peers.reports())]);
  }

  /** When each key (by id) last made a request, in any process. */
  async lastUsedByKey(): Promise<ReadonlyMap<string, number>> {
    if (this.peers === undefined) return this.ownLastUse;
    const merged = new Map(this.ownLastUse);
    for (const report of await this.peers.reports()) {
      for (const [keyId, at] of report.lastUsedByKey) merged.set(keyId, Math.max(at, merged.get(keyId) ?? 0));
    }
    return merged;
  }

  /** Sends the listener the recent requests, then each one answered from now on, until the returned function is called. */
  follow(listener: LiveListener): () => void {
    const peers = this.peers;
    const follower: Follower = { listener, heard: peers === undefined ? undefined : [] };
    this.followers.add(follower);
    if (peers === undefined) {
      for (const record of this.kept) listener(liveRequestOf(record));
    } else {
      // Before the gather: the peers send what they answer from here on.
      if (this.followers.size === 1) peers.following(true);
      void peers.reports().then((reports) => this.caughtUp(follower, reports));
    }
    return () => {
      if (this.followers.delete(follower) && this.followers.size === 0) this.peers?.following(false);
    };
  }

  private caughtUp(follower: Follower, reports: LiveReport[]): void {
    if (!this.followers.has(follower)) return;
    // This process's own requests answered meanwhile are in its report, made now.
    for (const request of mergeRecent([this.report(), ...reports])) follower.listener(request);
    const reported = new Map(reports.map((report) => [report.source, report.seq]));
    for (const event of follower.heard ?? []) if (event.seq > (reported.get(event.source) ?? 0)) follower.listener(event.request);
    follower.heard = undefined;
  }

  private add(record: UsageRecord): void {
    if (record.keyId !== undefined) this.ownLastUse.set(record.keyId, Math.max(record.startedAt, this.ownLastUse.get(record.keyId) ?? 0));
    this.kept.push(record);
    if (this.kept.length > KEPT) this.kept.shift();
    this.seq++;
    let request: LiveRequest | undefined;
    for (const follower of this.followers) if (follower.heard === undefined) follower.listener((request ??= liveRequestOf(record)));
    if (this.peers?.wanted === true) this.peers.publish({ source: this.peers.source, seq: this.seq, request: request ?? liveRequestOf(record) });
  }

  private heard(event: LiveEvent): void {
    for (const follower of this.followers) {
      if (follower.heard === undefined) follower.listener(event.request);
      else follower.heard.push(event);
    }
  }

  private report(): LiveReport {
    return { source: this.peers?.source ?? '', seq: this.seq, recent: this.kept.map(liveRequestOf), lastUsedByKey: [...this.ownLastUse] };
  }
}

/** The last KEPT requests of all reports, in the order they were answered (start + duration). */
function mergeRecent(reports: readonly LiveReport[]): LiveRequest[] {
  const all = reports.flatMap((report) => report.recent);
  const answeredAt = (request: LiveRequest): number => Date.parse(request.at) + request.durationMs;
  return all.sort((left, right) => answeredAt(left) - answeredAt(right)).slice(-KEPT);
}
