/**
 * Registrar bindings: AOR (registry entry id) -> contacts with expiry. Async interface so a
 * Redis store can replace the in-memory one when several instances share registrations.
 */
export interface Binding {
  contact: string;
  /** Epoch ms at which the binding lapses. */
  expiresAt: number;
  /** Call-ID and CSeq of the REGISTER that last refreshed it (RFC 3261 10.3 step 7). */
  callId: string;
  cseq: number;
  updatedAt: number;
}

export interface BindingStore {
  get(aor: string): Promise<Binding[]>;
  put(aor: string, bindings: Binding[]): Promise<void>;
}

export class MemoryBindingStore implements BindingStore {
  private readonly map = new Map<string, Binding[]>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(aor: string): Promise<Binding[]> {
    const t = this.now();
    const live = (this.map.get(aor) ?? []).filter((b) => b.expiresAt > t);
    if (live.length) this.map.set(aor, live);
    else this.map.delete(aor);
    return live.map((b) => ({ ...b }));
  }

  async put(aor: string, bindings: Binding[]): Promise<void> {
    if (bindings.length) this.map.set(aor, bindings.map((b) => ({ ...b })));
    else this.map.delete(aor);
  }
}
