/**
 * REGISTER processing (RFC 3261 10.3) after the policy chain has authenticated the request:
 * the digest-authenticated registry entry may only bind its own AOR; contacts are added,
 * refreshed or removed; expiry is clamped to the configured window (423 below the minimum);
 * a cap on contacts per identity keeps one credential from fanning out. Lookups feed routing
 * (SIP calls to a registered expert, later H.323 -> SIP).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Binding, BindingStore } from './bindings.js';

export interface RegistrarLimits {
  maxContacts: number;
  minExpiresSec: number;
  maxExpiresSec: number;
  defaultExpiresSec: number;
}

export interface RegisterInput {
  /** Registry entry id the digest proved. */
  entryId: string;
  /** Username the entry registers as (must be the To user). */
  username: string;
  toUser: string;
  /** Contact header field values as received (one string per header line or comma item). */
  contacts: string[];
  expiresHeader: string | undefined;
  callId: string;
  cseq: number;
}

export type RegisterOutcome =
  | { status: 200; bindings: Array<{ contact: string; expiresSec: number }> }
  | { status: 400 | 403 | 423 | 500; reason: string; headers?: Record<string, string> };

interface ParsedContact {
  uri: string;
  star: boolean;
  expires?: number;
}

/** Splits Contact values on top-level commas (not inside <...> or quotes). */
export function splitContacts(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    let depth = 0;
    let quoted = false;
    let cur = '';
    for (const ch of v) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === '<') depth++;
      else if (!quoted && ch === '>') depth = Math.max(0, depth - 1);
      if (ch === ',' && depth === 0 && !quoted) {
        if (cur.trim()) out.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
    if (cur.trim()) out.push(cur.trim());
  }
  return out;
}

export function parseContact(value: string): ParsedContact | undefined {
  const v = value.trim();
  if (v === '*') return { uri: '*', star: true };
  const angle = /<([^>]*)>(.*)$/.exec(v);
  const uri = (angle ? angle[1] : v.split(';')[0])?.trim() ?? '';
  const params = angle ? angle[2] ?? '' : v.slice(uri.length);
  if (!/^sips?:[^\s<>"]+$/i.test(uri)) return undefined;
  const e = /;\s*expires\s*=\s*(\d+)/i.exec(params);
  return { uri, star: false, ...(e ? { expires: Number(e[1]) } : {}) };
}

export class Registrar {
  private readonly gauge: Gauge;
  /** Bindings per identity, for the gauge (the store may be shared; this counts what we wrote). */
  private readonly total = new Map<string, number>();

  constructor(
    private readonly store: BindingStore,
    private readonly limits: RegistrarLimits,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.gauge = new Gauge({ name: 'gw_registrar_bindings', help: 'Contacts bound by the last REGISTER seen per identity (sum)', registers: [registry] });
  }

  async lookup(entryId: string): Promise<Binding[]> {
    return (await this.store.get(entryId)).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async register(input: RegisterInput): Promise<RegisterOutcome> {
    if (input.toUser !== input.username) return { status: 403, reason: 'May Only Register Own AOR' };
    const headerExpires = input.expiresHeader !== undefined && /^\s*\d+\s*$/.test(input.expiresHeader) ? Number(input.expiresHeader) : undefined;
    if (input.expiresHeader !== undefined && headerExpires === undefined) return { status: 400, reason: 'Bad Expires' };
    const parsed: ParsedContact[] = [];
    for (const c of splitContacts(input.contacts)) {
      const p = parseContact(c);
      if (!p) return { status: 400, reason: 'Bad Contact' };
      parsed.push(p);
    }
    const now = this.now();
    let bindings = await this.store.get(input.entryId);

    if (parsed.some((p) => p.star)) {
      // RFC 3261 10.3 step 6: '*' only alone and only with Expires: 0.
      if (parsed.length !== 1 || headerExpires !== 0) return { status: 400, reason: 'Invalid Wildcard' };
      await this.store.put(input.entryId, []);
      this.count(input.entryId, 0);
      return { status: 200, bindings: [] };
    }

    for (const p of parsed) {
      const asked = p.expires ?? headerExpires ?? this.limits.defaultExpiresSec;
      if (asked > 0 && asked < this.limits.minExpiresSec) {
        return { status: 423, reason: 'Interval Too Brief', headers: { 'Min-Expires': String(this.limits.minExpiresSec) } };
      }
      const existing = bindings.find((b) => sameUri(b.contact, p.uri));
      // Step 7: an older or repeated request for the same Call-ID must not undo a newer one.
      if (existing && existing.callId === input.callId && input.cseq <= existing.cseq) continue;
      bindings = bindings.filter((b) => !sameUri(b.contact, p.uri));
      if (asked === 0) continue;
      const expiresSec = Math.min(asked, this.limits.maxExpiresSec);
      bindings.push({ contact: p.uri, expiresAt: now + expiresSec * 1000, callId: input.callId, cseq: input.cseq, updatedAt: now });
    }
    if (bindings.length > this.limits.maxContacts) return { status: 403, reason: 'Too Many Contacts' };
    await this.store.put(input.entryId, bindings);
    this.count(input.entryId, bindings.length);
    return {
      status: 200,
      bindings: bindings.map((b) => ({ contact: b.contact, expiresSec: Math.max(0, Math.round((b.expiresAt - now) / 1000)) })),
    };
  }

  private count(id: string, n: number): void {
    if (n) this.total.set(id, n);
    else this.total.delete(id);
    let sum = 0;
    for (const v of this.total.values()) sum += v;
    this.gauge.set(sum);
  }
}

function sameUri(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
