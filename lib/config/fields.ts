/**
 * Small typed readers for configuration values. Each reader records a problem (field + reason)
 * instead of throwing, so one load reports every bad field at once.
 */
export type Problems = Array<{ field: string; problem: string }>;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FieldReader {
  constructor(readonly problems: Problems = []) {}

  fail(field: string, problem: string): void {
    this.problems.push({ field, problem });
  }

  /** Reports keys the schema does not know: a typo must not silently fall back to a default. */
  noUnknownKeys(field: string, obj: Record<string, unknown>, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k)) this.fail(field ? `${field}.${k}` : k, 'unknown field');
    }
  }

  object(field: string, v: unknown): Record<string, unknown> {
    if (v === undefined) return {};
    if (!isObject(v)) {
      this.fail(field, `expected an object, got ${describe(v)}`);
      return {};
    }
    return v;
  }

  string(field: string, v: unknown, dflt: string, opts: { nonEmpty?: boolean } = {}): string {
    if (v === undefined) return dflt;
    if (typeof v !== 'string') {
      this.fail(field, `expected a string, got ${describe(v)}`);
      return dflt;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.fail(field, 'must not be empty');
      return dflt;
    }
    return v;
  }

  requiredString(field: string, v: unknown): string {
    if (v === undefined) {
      this.fail(field, 'required');
      return '';
    }
    return this.string(field, v, '', { nonEmpty: true });
  }

  optionalString(field: string, v: unknown): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(field, `expected a non-empty string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  int(field: string, v: unknown, dflt: number, min: number, max: number): number {
    if (v === undefined) return dflt;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.fail(field, `expected an integer, got ${describe(v)}`);
      return dflt;
    }
    if (n < min || n > max) {
      this.fail(field, `must be between ${min} and ${max}, got ${n}`);
      return dflt;
    }
    return n;
  }

  /** A finite number (fractions allowed), e.g. a refill rate of 0.5 tokens per second. */
  number(field: string, v: unknown, dflt: number, min: number, max: number): number {
    if (v === undefined) return dflt;
    const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      this.fail(field, `expected a number, got ${describe(v)}`);
      return dflt;
    }
    if (n < min || n > max) {
      this.fail(field, `must be between ${min} and ${max}, got ${n}`);
      return dflt;
    }
    return n;
  }

  bool(field: string, v: unknown, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    this.fail(field, `expected true or false, got ${describe(v)}`);
    return dflt;
  }

  oneOf<T extends string>(field: string, v: unknown, dflt: T, allowed: readonly T[]): T {
    if (v === undefined) return dflt;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.fail(field, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
    return dflt;
  }

  array(field: string, v: unknown): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(field, `expected a list, got ${describe(v)}`);
      return [];
    }
    return v;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
