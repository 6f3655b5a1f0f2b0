/**
 * Reading and normalising drachtio control-connection transcripts so a recording from the real
 * server and a live run (double or real) can be compared: ids, times, ports, tags, branches,
 * Call-IDs, nonces and byte counts vary run to run; frame types, tokens, SIP start lines and
 * header values otherwise must match.
 */

export type Dir = 'C->S' | 'S->C';

export interface TranscriptFrame {
  dir: Dir;
  payload: string;
  /** `framed length` from the transcript header, when read from a file. */
  framedLength?: number;
}

const HEADER = /^==== (C->S|S->C)\s+t=\S+\s+frame=\d+\s+tcp\.stream=(\d+)\s+framed length=(\d+)\s*$/;

/**
 * Parse a `*-messages.txt` transcript: a header line per frame, then the payload with CRLF shown
 * as a literal `\r\n` at the end of each line, then a blank separator line.
 */
export function parseTranscript(text: string, stream = 0): TranscriptFrame[] {
  const out: TranscriptFrame[] = [];
  const lines = text.split('\n');
  let cur: { dir: Dir; len: number; stream: number; body: string[] } | undefined;
  const flush = (): void => {
    if (!cur) return;
    while (cur.body.length && cur.body[cur.body.length - 1] === '') cur.body.pop();
    // a line ending in literal \r\n carries CRLF; otherwise the payload ends there
    const payload = cur.body.map((l) => (l.endsWith('\\r\\n') ? `${l.slice(0, -4)}\r\n` : l)).join('');
    if (cur.stream === stream) out.push({ dir: cur.dir, payload, framedLength: cur.len });
    cur = undefined;
  };
  for (const line of lines) {
    const m = HEADER.exec(line);
    if (m) {
      flush();
      cur = { dir: m[1] as Dir, stream: Number(m[2]), len: Number(m[3]), body: [] };
    } else if (cur) cur.body.push(line);
  }
  flush();
  return out;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const TIME = /\b\d\d:\d\d:\d\d\.\d{6}\b/g;

/** Labels values by order of first appearance, so equal values stay equal after normalising. */
class Labeller {
  private map = new Map<string, string>();
  constructor(private readonly prefix: string) {}
  label(v: string): string {
    let l = this.map.get(v);
    if (!l) {
      l = `<${this.prefix}${this.map.size + 1}>`;
      this.map.set(v, l);
    }
    return l;
  }
}

interface Ctx {
  txn: Labeller;
  callId: Labeller;
  tag: Labeller;
  branch: Labeller;
  nonce: Labeller;
  cseq: Labeller;
  /** message id -> "type|first token" of the frame it belongs to */
  idType: Map<string, string>;
}

function splitPayload(p: string): { leader: string; sip?: string } {
  const i = p.indexOf('\r\n');
  return i === -1 ? { leader: p } : { leader: p.slice(0, i), sip: p.slice(i + 2) };
}

/** First pass (S->C frames first, then C->S): label values in a stable order. */
function learn(frames: TranscriptFrame[], ctx: Ctx): void {
  const ordered = [...frames.filter((f) => f.dir === 'S->C'), ...frames.filter((f) => f.dir === 'C->S')];
  for (const f of frames) {
    const { leader } = splitPayload(f.payload);
    const t = leader.split('|');
    if (t[0]) ctx.idType.set(t[0], t[1] === 'route' ? `route|${t[2] ?? ''}` : (t[1] ?? ''));
  }
  for (const f of ordered) {
    const { leader, sip } = splitPayload(f.payload);
    for (const u of leader.split('|').slice(1)) if (UUID.test(u)) ctx.txn.label(u.match(UUID)![0]);
    UUID.lastIndex = 0;
    for (const m of f.payload.matchAll(/^(?:call-id|i)\s*:\s*(.+?)\s*$/gim)) ctx.callId.label(m[1]!);
    for (const m of leader.matchAll(/\|([^|;]+);from-tag=/g)) ctx.callId.label(m[1]!);
    for (const m of (sip ?? '').matchAll(/;tag=([^;>\s\r]+)/g)) ctx.tag.label(m[1]!);
    for (const m of leader.matchAll(/from-tag=([^|]+)/g)) ctx.tag.label(m[1]!);
    for (const m of (sip ?? '').matchAll(/branch=([^;\s\r,]+)/g)) ctx.branch.label(m[1]!);
    for (const m of (sip ?? '').matchAll(/\bnonce="([^"]*)"/g)) ctx.nonce.label(m[1]!);
  }
}

function normValue(v: string, ctx: Ctx): string {
  let s = v.trim();
  s = s.replace(/;from-tag=([^|;]+)/g, (_m, t: string) => `;from-tag=${ctx.tag.label(t)}`);
  s = s.replace(/;tag=([^;>\s,]+)/g, (_m, t: string) => `;tag=${ctx.tag.label(t)}`);
  s = s.replace(/branch=([^;\s,]+)/g, (_m, b: string) => `branch=${ctx.branch.label(b)}`);
  s = s.replace(/\bnonce="([^"]*)"/g, (_m, n: string) => `nonce="${ctx.nonce.label(n)}"`);
  s = s.replace(/\b(cnonce|response)="[^"]*"/g, '$1="<x>"');
  s = s.replace(/\b(rport|received)=[\d.]+/g, '$1=<n>');
  s = s.replace(/127\.0\.0\.1(:\d+)?/g, '127.0.0.1:<port>');
  return s;
}

function normLeader(leader: string, ctx: Ctx): string {
  const t = leader.split('|');
  const type = t[1] ?? '';
  const out: string[] = [type];
  for (let i = 2; i < t.length; i++) {
    let tok = t[i]!;
    if (type === 'response' && i === 2) {
      out.push(`<re:${ctx.idType.get(tok) ?? '?'}>`);
      continue;
    }
    if (type === 'authenticate' && i === 2) tok = '<secret>';
    else if (type === 'response' && i === 5 && t[3] === 'OK' && /^v\d/.test(tok)) tok = '<version>';
    else if (/^\d+$/.test(tok)) tok = '<n>';
    else if (TIME.test(tok)) tok = tok.replace(TIME, '<time>');
    else if (new RegExp(UUID.source, 'i').test(tok) && !tok.includes(';')) tok = tok.replace(new RegExp(UUID.source, 'gi'), (u) => ctx.txn.label(u));
    else {
      const c = /^(.+);from-tag=(.+)$/.exec(tok);
      if (c) tok = `${ctx.callId.label(c[1]!)};from-tag=${ctx.tag.label(c[2]!)}`;
      else tok = normValue(tok, ctx);
    }
    TIME.lastIndex = 0;
    out.push(tok);
  }
  return out.join('|');
}

/** Start line and headers (body left out: Content-Length stands for it). */
function normSip(sip: string, ctx: Ctx): string[] {
  const end = sip.indexOf('\r\n\r\n');
  const head = end === -1 ? sip : sip.slice(0, end);
  const [start, ...hdrs] = head.split('\r\n');
  const lines = [`  ${normValue(start ?? '', ctx)}`];
  for (const h of hdrs) {
    if (!h) continue;
    const c = h.indexOf(':');
    const name = c === -1 ? h : h.slice(0, c);
    let value = c === -1 ? '' : h.slice(c + 1).trim();
    if (/^(call-id|i)$/i.test(name.trim())) value = ctx.callId.label(value);
    // servers pick a random initial CSeq; SIPp's small ones are kept as they are
    else if (/^cseq$/i.test(name.trim())) value = value.replace(/^(\d{4,})/, (n) => ctx.cseq.label(n));
    else value = normValue(value, ctx);
    lines.push(`  ${name}: ${value}`);
  }
  return lines;
}

export interface Normalised {
  'C->S': string[];
  'S->C': string[];
}

/** One block of lines per frame, per direction (the interleaving of directions is timing). */
export function normalise(frames: TranscriptFrame[]): Normalised {
  const ctx: Ctx = {
    txn: new Labeller('txn'), callId: new Labeller('callid'), tag: new Labeller('tag'),
    branch: new Labeller('branch'), nonce: new Labeller('nonce'), cseq: new Labeller('cseq'), idType: new Map(),
  };
  learn(frames, ctx);
  const out: Normalised = { 'C->S': [], 'S->C': [] };
  for (const f of frames) {
    const { leader, sip } = splitPayload(f.payload);
    out[f.dir].push(`${f.dir} ${normLeader(leader, ctx)}`);
    if (sip !== undefined) out[f.dir].push(...normSip(sip, ctx));
  }
  return out;
}

/** Line diff (LCS); undefined when equal, else a readable listing with -expected/+actual. */
export function diffLines(expected: string[], actual: string[]): string | undefined {
  const n = expected.length;
  const m = actual.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let differs = false;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i]}`);
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${actual[j]}`);
      j++;
      differs = true;
    } else {
      out.push(`- ${expected[i]}`);
      i++;
      differs = true;
    }
  }
  return differs ? out.join('\n') : undefined;
}
