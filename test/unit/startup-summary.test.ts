import { describe, expect, it } from 'vitest';
import { startupSummary, type SummaryFacts } from '../../src/startup/summary.js';

const facts: SummaryFacts = {
  version: '1.0.0',
  ollamaApiVersion: '0.32.11',
  boundUrl: 'http://127.0.0.1:11434',
  clientUrls: ['http://127.0.0.1:11434'],
  backends: [],
  servedModels: 3,
  filter: undefined,
  envFileRead: undefined,
  keys: { count: 1, file: undefined, generated: undefined, admin: 1 },
  openOnNetwork: false,
  generateKeyIgnored: undefined,
  usageDb: undefined,
  trustProxy: false,
};

describe('start-up summary: --trust-proxy', () => {
  it('says nothing when off, whose forwarded headers are believed when on, and a warning for every peer', () => {
    expect(startupSummary(facts)).not.toContain('proxy');
    expect(startupSummary({ ...facts, trustProxy: ['127.0.0.1', '10.0.0.0/8'] })).toContain('  proxy     X-Forwarded-For/-Proto/-Host believed from 127.0.0.1, 10.0.0.0/8\n');
    expect(startupSummary({ ...facts, trustProxy: true })).toContain('  proxy     X-Forwarded-For/-Proto/-Host believed from every peer (--trust-proxy true): only a proxy may reach this port\n');
  });
});
