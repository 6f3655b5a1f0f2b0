/**
 * The routing table of drachtio-server v0.9.10 (src/client-controller.cpp): which app gets a new
 * request that arrives outside a dialog. Modelled entry for entry, because apps (lib/ha/route-weight.ts)
 * rely on its quirks:
 *
 * - `route|<verb>` (wants_requests) inserts one entry {verb -> app} into an unordered_multimap
 *   every time it is sent, without deduplicating: an app that routes a verb k times holds k
 *   entries and gets k turns of the round robin. The verb is stored as sent (case-sensitive);
 *   selection looks up the request's method in lower case.
 * - `remove_route|<verb>` (no_longer_wants_requests) erases every entry of that app, for every
 *   verb: the verb in the message is never compared.
 * - Selection (selectClientForRequestOutsideDialog) walks the verb's entries from a per-verb
 *   offset (reset to 0 once it is not below the entry count, then stored + 1); an entry whose app
 *   has gone (its weak_ptr expired) is erased when the walk reaches it, and the walk goes on to the
 *   next entry within the same selection. Entries of dead apps stay (and count) until then.
 * - Order of a verb's entries is libstdc++'s (GCC 12, what the real build here uses): while the
 *   whole table holds at most 20 entries (_Hashtable's __small_size_threshold for std::string
 *   keys) a new entry goes right after the verb's first entry; above that, before it (at the
 *   front). Rehashing keeps that order. Observed on the real server: A, B, C routing invite in
 *   turn are picked A, C, B; with more than 20 entries in the table, newest first.
 */

/** libstdc++ (GCC 12) _Hashtable::__small_size_threshold() for a key whose hash is not "fast". */
export const SMALL_SIZE_THRESHOLD = 20;

export class RouteTable {
  /** verb (as routed) -> app ids, in the multimap's equal_range order. */
  private readonly entries = new Map<string, number[]>();
  /** verb -> round-robin offset (m_map_of_request_type_offsets); never removed. */
  private readonly offsets = new Map<string, number>();
  private total = 0;

  /** Entries in the whole table (every verb, dead apps' included). */
  get size(): number {
    return this.total;
  }

  /** `route|<verb>`: one more entry for the app. */
  add(appId: number, verb: string): void {
    const list = this.entries.get(verb);
    if (!list || list.length === 0) {
      this.entries.set(verb, [appId]);
    } else if (this.total <= SMALL_SIZE_THRESHOLD) {
      list.splice(1, 0, appId);
    } else {
      list.unshift(appId);
    }
    this.total++;
    if (!this.offsets.has(verb)) this.offsets.set(verb, 0);
  }

  /** `remove_route|<anything>`: every entry of the app, for every verb. Returns how many went. */
  removeApp(appId: number): number {
    let n = 0;
    for (const [verb, list] of this.entries) {
      const kept = list.filter((id) => id !== appId);
      n += list.length - kept.length;
      this.entries.set(verb, kept);
    }
    this.total -= n;
    return n;
  }

  /** Whether the app holds at least one entry for the verb. */
  has(appId: number, verb: string): boolean {
    return this.entries.get(verb)?.includes(appId) ?? false;
  }

  /** The verb's entries (app ids) in selection order. */
  list(verb: string): readonly number[] {
    return this.entries.get(verb) ?? [];
  }

  /**
   * The app for a new request with this method (lower-cased as the server does), or undefined
   * (the server then answers 503). `live` tells whether an entry's app is still connected.
   */
  select(method: string, live: (appId: number) => boolean): number | undefined {
    const verb = method.toLowerCase();
    const list = this.entries.get(verb);
    let possibles = list?.length ?? 0;
    if (!list || possibles === 0) return undefined;
    const stored = this.offsets.get(verb) ?? 0;
    const offset = stored < possibles ? stored : 0;
    this.offsets.set(verb, offset + 1);
    let i = offset;
    let chosen: number | undefined;
    do {
      if (i >= list.length) i = 0;
      const id = list[i]!;
      if (!live(id)) {
        list.splice(i, 1); // erase(it): it now points at the next entry
        this.total--;
      } else {
        chosen = id;
      }
      possibles--;
    } while (chosen === undefined && possibles > 0 && list.length > 0);
    return chosen;
  }
}
