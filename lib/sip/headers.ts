/** Reading and copying SIP headers of srf requests for what the gateway forwards. */
import type { SrfRequest } from '../../types/drachtio-srf.js';

/** A header's value, or undefined when absent or unreadable (srf throws on some malformed ones). */
export function header(req: SrfRequest, name: string): string | undefined {
  try {
    return req.has(name) ? req.get(name) : undefined;
  } catch {
    return undefined;
  }
}

/** Copies the named request headers that are present (redaction applied on top by the caller). */
export function forwardedHeaders(req: SrfRequest, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = header(req, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/**
 * Merges header maps case-insensitively, later maps winning. srf reports header names in lower
 * case while configs name them canonically; two spellings of one header would otherwise both be
 * sent - and an unredacted copy must never ride along with the redacted one.
 */
export function mergeHeaders(...maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const out = new Map<string, [string, string]>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) out.set(k.toLowerCase(), [out.get(k.toLowerCase())?.[0] ?? k, v]);
  return Object.fromEntries([...out.values()]);
}

