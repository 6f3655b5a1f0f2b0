/**
 * PII gate: for calls marked ESCALATE (a configured header value, or a Priority value), redact
 * PII in the From/To display names, Subject, custom headers and text bodies before anything is
 * forwarded. Never refuses; records categories and counts in the chain state for the audit.
 */
import { formatNameAddr, parseNameAddr } from './sip-parse.js';
import { redactPii } from './pii.js';
import { admit, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface PiiConfig {
  /** Header whose value marks the call, e.g. X-Council-Escalation: ESCALATE. */
  markerHeader: string;
  markerValues: readonly string[];
  /** Priority header values that also mark the call (RFC 3261: emergency, urgent, ...). */
  priorityValues: readonly string[];
  /** Custom headers to scan besides every X- header. */
  extraHeaders: readonly string[];
  methods?: readonly string[];
}

export const DEFAULT_PII: PiiConfig = {
  markerHeader: 'X-Council-Escalation',
  markerValues: ['ESCALATE'],
  priorityValues: ['emergency'],
  extraHeaders: ['Subject', 'Organization', 'Call-Info', 'Reply-To', 'In-Reply-To'],
};

export function isEscalated(req: PolicyRequest, cfg: PiiConfig): boolean {
  const marker = req.header(cfg.markerHeader)?.trim().toUpperCase();
  if (marker && cfg.markerValues.some((v) => v.toUpperCase() === marker)) return true;
  const prio = req.header('Priority')?.trim().toLowerCase();
  return !!prio && cfg.priorityValues.some((v) => v.toLowerCase() === prio);
}

/** Text bodies we scan; SDP is excluded (its addresses are media addresses, not PII of a person). */
/** Bodies PII is looked for in (SDP and binary bodies are not text to people). */
export function isTextBody(contentType: string | undefined): boolean {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return t.startsWith('text/') || t === 'message/cpim' || t === 'application/json' || t === 'application/xml';
}

function addCounts(counts: Record<string, number>, c: Partial<Record<string, number>>): void {
  for (const [k, v] of Object.entries(c)) counts[k] = (counts[k] ?? 0) + (v ?? 0);
}

export class PiiGate implements Gate {
  readonly name = 'pii';
  readonly methods: readonly string[];
  private readonly wanted: ReadonlySet<string>;
  private readonly marker: string;
  constructor(private readonly cfg: PiiConfig = DEFAULT_PII) {
    this.methods = cfg.methods ?? ['INVITE', 'MESSAGE', 'INFO', 'UPDATE'];
    this.wanted = new Set(cfg.extraHeaders.map((h) => h.toLowerCase()));
    this.marker = cfg.markerHeader.toLowerCase();
  }

  decide(req: PolicyRequest, state: ChainState): Decision {
    if (!isEscalated(req, this.cfg)) return admit();
    const counts: Record<string, number> = {};
    for (const h of ['From', 'To']) {
      const v = req.header(h);
      const na = v !== undefined ? parseNameAddr(v) : undefined;
      if (!na || !na.display) continue;
      const r = redactPii(na.display);
      if (r.found > 0) {
        addCounts(counts, r.counts);
        state.mutations.headers[h] = formatNameAddr({ ...na, display: r.text });
      }
    }
    for (const name of req.headerNames()) {
      const l = name.toLowerCase();
      if (l === this.marker || !(l.startsWith('x-') || this.wanted.has(l))) continue;
      const v = req.header(name);
      if (v === undefined) continue;
      const r = redactPii(v);
      if (r.found > 0) {
        addCounts(counts, r.counts);
        state.mutations.headers[name] = r.text;
      }
    }
    if (req.body && isTextBody(req.header('Content-Type'))) {
      const r = redactPii(req.body);
      if (r.found > 0) {
        addCounts(counts, r.counts);
        state.mutations.body = r.text;
      }
    }
    state.pii = counts;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return admit(total > 0 ? 'pii-redacted' : 'pii-none');
  }
}
