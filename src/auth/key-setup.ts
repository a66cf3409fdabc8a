/**
 * The client keys a gateway starts with: `--api-keys`, the keys file (followed while the
 * gateway runs), and a key generated at start-up when nothing else protects a gateway that
 * is not on loopback. Every key known in plain text is registered for redaction.
 */
import type { Config } from '#schemas/config.js';
import type { Log } from '../core/log.js';
import type { SecretRegistration } from '../core/secrets.js';
import { GatewayError } from '../errors.js';
import { watchFileSetting, type FileWatcher } from '../files/watched-file.js';
import { createKey, recordForPlainKey, type KeyRecord } from './api-keys.js';
import { KeyRing } from './key-ring.js';
import { parseKeysFile } from './keys-file.js';
import { isLoopbackAddress } from './origins.js';

export interface KeySetup {
  keyRing: KeyRing;
  /** A key generated at start-up (`--generate-key` with no keys on a non-loopback bind), to print once. */
  generatedKey: string | undefined;
}

/**
 * Client keys from `--api-keys` and the keys file (hot-reloaded: its watcher is pushed on
 * `watchers`). With no keys at all, the gateway is open, which is allowed only on loopback
 * unless the user says otherwise (CONFIG_INVALID).
 */
export function setUpKeys(config: Config, watchers: FileWatcher[], log: Log, secrets: SecretRegistration, presetGeneratedKey?: string): KeySetup {
  const plainKeyTexts = (config.BRIDGE_API_KEYS ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '');
  for (const key of plainKeyTexts) secrets.add(key);
  const plainKeys = plainKeyTexts.map((key, index) => recordForPlainKey(key, `api-keys #${index + 1}`));
  let generatedKey: string | undefined;
  const keysFile = config.BRIDGE_KEYS_FILE;
  const keyRing = new KeyRing(keysFile !== undefined, plainKeys);
  if (keysFile !== undefined) {
    watchers.push(watchFileSetting({
      path: keysFile,
      label: 'keys file',
      emptyMeaning: 'no key from it is accepted',
      parse: (text) => ({ ...parseKeysFile(text), plaintextKeys: plaintextKeysIn(text) }),
      apply: (parsed) => {
        if (parsed.plaintext) log.warn({ path: keysFile }, 'the keys file holds plaintext keys; prefer `ollama-bridge keys create`, which stores only hashes');
        for (const key of parsed.plaintextKeys) secrets.add(key);
        for (const problem of parsed.problems) log.warn({ path: keysFile }, problem);
        keyRing.setFileKeys(parsed.records);
      },
      log,
    }));
  }
  if (!keyRing.enabled && !isLoopbackAddress(config.HOST) && !config.ALLOW_UNAUTHENTICATED) {
    if (!config.BRIDGE_GENERATE_KEY) {
      throw new GatewayError(
        'CONFIG_INVALID',
        `refusing to serve ${config.HOST} without client keys: anyone who can reach it could spend your OpenRouter credit. ` +
          'Create keys (`ollama-bridge keys create --name NAME` and --keys-file, or --api-keys), bind to 127.0.0.1, or pass --allow-unauthenticated if the network is trusted',
      );
    }
    // Workers after the first serve the key the first one generated (--workers).
    const generated = presetGeneratedKey === undefined ? createKey({ name: 'generated at start-up' }) : sameGeneratedKey(presetGeneratedKey);
    generatedKey = generated.key;
    secrets.add(generated.key);
    keyRing.addPlainKey(generated.record);
  }
  return { keyRing, generatedKey };
}

/** The keys of a plain keys.txt (one per line, `#` comments), to redact; none for a hashed keys file. */
function plaintextKeysIn(text: string): string[] {
  if (text.trimStart().startsWith('{')) return [];
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** The record of a key another worker generated: the same id as that worker's (the `obk_<id>_` part). */
function sameGeneratedKey(key: string): { key: string; record: KeyRecord } {
  const record = recordForPlainKey(key, 'generated at start-up');
  const id = /^obk_([a-z0-9]{8})_/.exec(key)?.[1];
  return { key, record: id === undefined ? record : { ...record, id } };
}
