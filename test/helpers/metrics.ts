/** Scrapes a gateway's /metrics and reads it with a Prometheus text-format parser. */
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';
import { request } from 'undici';
import { expect } from 'vitest';

export class Scrape {
  private readonly families: Map<string, ParsedFamily>;

  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  }

  family(name: string): ParsedFamily | undefined {
    return this.families.get(name);
  }

  /** The samples of a metric whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): ParsedSample[] {
    return (this.family(name)?.metrics ?? []).filter((sample) => Object.entries(labels).every(([label, value]) => (sample.labels?.[label] ?? '') === value));
  }

  /** A counter's or gauge's value for exactly these labels (0 when the series does not exist yet). */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = (this.family(name)?.metrics ?? []).find((candidate) => sameLabels(candidate.labels ?? {}, labels));
    return sample === undefined ? 0 : Number(sample.value);
  }

  /** A histogram's observation count (0 before its first). */
  histogramCount(name: string): number {
    const sample = this.family(name)?.metrics[0];
    return sample?.count === undefined ? 0 : Number(sample.count);
  }
}

function sameLabels(actual: Record<string, string>, expected: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const key of keys) if ((actual[key] ?? '') !== (expected[key] ?? '')) return false;
  return true;
}

/** GET /metrics (200 expected), parsed. */
export async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await request(`${baseUrl}/metrics`, { headers });
  const text = await response.body.text();
  expect(response.statusCode, text).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(text);
}

/** Scrapes until `condition` holds (a request is counted when its response closes, just after its client has read it). */
export async function scrapeUntil(baseUrl: string, condition: (scraped: Scrape) => boolean, what: string, headers: Record<string, string> = {}): Promise<Scrape> {
  let last: Scrape | undefined;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    last = await scrape(baseUrl, headers);
    if (condition(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what}: not seen in /metrics within 3 s; last scrape:\n${last?.text ?? ''}`);
}
