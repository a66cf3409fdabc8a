/**
 * The admin page's Live feed under `--workers` (admin/live-requests.ts's peers): the other
 * workers' recent requests and keys' last use, gathered through the primary when asked for;
 * and, only while some worker has a Live follower, each request a worker answers, sent to the
 * workers with followers (the primary tells each worker whether another wants them:
 * live-relay.ts). Undefined outside a worker.
 */
import cluster from 'node:cluster';
import type { LiveEvent, LivePeers, LiveReport } from '../admin/live-requests.js';
import { workerExchange } from './exchange-worker.js';
import { TOPIC } from './messages.js';

export function liveAcrossWorkers(): LivePeers | undefined {
  const exchange = workerExchange();
  const worker = cluster.worker;
  if (exchange === undefined || worker === undefined) return undefined;
  let wanted = false;
  exchange.hear(TOPIC.liveWanted, (payload) => {
    wanted = payload === true;
  });
  return {
    source: String(worker.id),
    get wanted() {
      return wanted;
    },
    reports: async () => (await exchange.gather(TOPIC.liveRecent)).filter(isLiveReport),
    answerReports: (reporter) => void exchange.report(TOPIC.liveRecent, reporter),
    following: (on) => exchange.tell(TOPIC.liveFollowing, on),
    publish: (event) => exchange.tell(TOPIC.liveRequest, event),
    onEvent: (listener) => void exchange.hear(TOPIC.liveRequest, (payload) => {
      if (isLiveEvent(payload)) listener(payload);
    }),
  };
}

function isLiveReport(answer: unknown): answer is LiveReport {
  if (typeof answer !== 'object' || answer === null) return false;
  const report = answer as Partial<LiveReport>;
  return typeof report.source === 'string' && typeof report.seq === 'number' && Array.isArray(report.recent) && Array.isArray(report.lastUsedByKey);
}

function isLiveEvent(payload: unknown): payload is LiveEvent {
  if (typeof payload !== 'object' || payload === null) return false;
  const event = payload as Partial<LiveEvent>;
  return typeof event.source === 'string' && typeof event.seq === 'number' && typeof event.request === 'object' && event.request !== null;
}
