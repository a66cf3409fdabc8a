/**
 * Ollama sends images as bare base64; OpenAI-style upstreams want data URLs. The MIME type
 * is sniffed from the first bytes, as Ollama's own translator does (fallback image/jpeg).
 */
const SIGNATURES: Array<[prefix: string, mime: string]> = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
  ['Qk', 'image/bmp'],
  ['JVBERi0', 'application/pdf'],
];

export function sniffImageMime(base64: string): string {
  for (const [prefix, mime] of SIGNATURES) if (base64.startsWith(prefix)) return mime;
  return 'image/jpeg';
}

/** Bare base64 → data URL; a value that already is a data or http(s) URL is kept. */
export function toImageUrl(image: string): string {
  if (image.startsWith('data:') || image.startsWith('https://') || image.startsWith('http://')) return image;
  const base64 = image.replace(/\s+/g, '');
  return `data:${sniffImageMime(base64)};base64,${base64}`;
}

/** A data URL → its bare base64 payload (for backends that speak Ollama); undefined for other URLs. */
export function toBareBase64(url: string): string | undefined {
  if (!url.startsWith('data:')) return /^https?:\/\//.test(url) ? undefined : url;
  const comma = url.indexOf(',');
  return comma === -1 ? undefined : url.slice(comma + 1);
}
