/**
 * Throw-first field checks for config sections validated on their own (h323, media): each throws
 * the section's FieldError subclass naming the field. lib/config/fields.ts is the collect-all
 * variant the gateway config uses to report every problem at once.
 */
import type { FieldError } from './errors.js';

export type Obj = Record<string, unknown>;

export function fieldChecks(E: new (field: string, message: string) => FieldError) {
  const obj = (v: unknown, field: string): Obj => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new E(field, 'must be an object');
    return v as Obj;
  };
  return {
    obj,
    optObj: (v: unknown, field: string): Obj => (v === undefined ? {} : obj(v, field)),
    str(v: unknown, field: string, re?: RegExp, what?: string): string {
      if (typeof v !== 'string' || v.length === 0) throw new E(field, 'must be a non-empty string');
      if (re && !re.test(v)) throw new E(field, `must be ${what ?? re.source}`);
      return v;
    },
    int(v: unknown, field: string, min: number, max: number, dflt?: number): number {
      if (v === undefined && dflt !== undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new E(field, `must be an integer in ${min}..${max}`);
      return v;
    },
    num(v: unknown, field: string, min: number): number {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new E(field, `must be a number >= ${min}`);
      return v;
    },
    bool(v: unknown, field: string, dflt: boolean): boolean {
      if (v === undefined) return dflt;
      if (typeof v !== 'boolean') throw new E(field, 'must be true or false');
      return v;
    },
  };
}
