/** Capped exponential backoff for ESL reconnects: initial * 2^attempt, at most max. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  if (attempt < 0 || !Number.isFinite(attempt)) return initialMs;
  const d = initialMs * 2 ** Math.min(attempt, 30);
  return Math.min(d, maxMs);
}
