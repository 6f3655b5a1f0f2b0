/**
 * Registrar bindings in Redis, shared by every gateway instance: one key per AOR
 * ("<prefix>reg:<aor>") holding the JSON array of bindings, written whole by put() (SET with PX
 * a little past the latest binding's expiry, or DEL when empty), so a reader never sees half a
 * REGISTER. get() drops bindings whose expiresAt has passed, like MemoryBindingStore.
 */
import type { Redis } from 'ioredis';
import type { Binding, BindingStore } from './bindings.js';
import { normalisePrefix } from '../state/redis.js';

const GC_MARGIN_MS = 1000;

function isBinding(x: unknown): x is Binding {
  if (typeof x !== 'object' || x === null) return false;
  const b = x as Record<string, unknown>;
  return (
    typeof b.contact === 'string' &&
    typeof b.expiresAt === 'number' &&
    typeof b.callId === 'string' &&
    typeof b.cseq === 'number' &&
    typeof b.updatedAt === 'number'
  );
}

export class RedisBindingStore implements BindingStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = normalisePrefix(keyPrefix);
  }

  key(aor: string): string {
    return `${this.prefix}reg:${aor}`;
  }

  async get(aor: string): Promise<Binding[]> {
    const raw = await this.redis.get(this.key(aor));
    if (raw === null) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return [];
    }
    if (!Array.isArray(parsed)) return [];
    const t = this.now();
    return parsed.filter(isBinding).filter((b) => b.expiresAt > t).map((b) => ({ ...b }));
  }

  async put(aor: string, bindings: Binding[]): Promise<void> {
    const t = this.now();
    const live = bindings.filter((b) => b.expiresAt > t);
    if (!live.length) {
      await this.redis.del(this.key(aor));
      return;
    }
    const lastMs = Math.max(...live.map((b) => b.expiresAt)) - t;
    const value = JSON.stringify(
      live.map((b) => ({ contact: b.contact, expiresAt: b.expiresAt, callId: b.callId, cseq: b.cseq, updatedAt: b.updatedAt })),
    );
    await this.redis.set(this.key(aor), value, 'PX', Math.ceil(lastMs) + GC_MARGIN_MS);
  }
}
