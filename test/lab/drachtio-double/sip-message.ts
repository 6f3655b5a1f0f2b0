/**
 * Minimal SIP message model: start line, ordered headers (names as received), body.
 * Enough for a transaction-stateful double; not a general-purpose SIP stack.
 */

const CRLF = '\r\n';

export class SipParseError extends Error {}

export interface SipHeader {
  name: string;
  value: string;
}

const COMPACT: Record<string, string> = {
  v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length',
  c: 'content-type', k: 'supported', s: 'subject', e: 'content-encoding', o: 'event',
};

/** Lower-case long form, used to compare header names. */
export function headerKey(name: string): string {
  const n = name.trim().toLowerCase();
  return COMPACT[n] ?? n;
}

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version',
  'rseq': 'RSeq', 'rack': 'RAck',
};

/** The spelling sofia-sip uses when it re-serialises a header the app sent in lower case. */
export function canonicalName(name: string): string {
  const key = headerKey(name);
  const special = CANONICAL[key];
  if (special) return special;
  return key.split('-').map((p) => (p.length ? p[0]!.toUpperCase() + p.slice(1) : p)).join('-');
}

export class SipMessage {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: SipHeader[] = [];
  body = '';

  get isRequest(): boolean {
    return this.method !== undefined;
  }

  get(name: string): string | undefined {
    const k = headerKey(name);
    return this.headers.find((h) => headerKey(h.name) === k)?.value;
  }

  getAll(name: string): string[] {
    const k = headerKey(name);
    return this.headers.filter((h) => headerKey(h.name) === k).map((h) => h.value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replace the first header of that name (or append). */
  set(name: string, value: string): void {
    const k = headerKey(name);
    const h = this.headers.find((x) => headerKey(x.name) === k);
    if (h) h.value = value;
    else this.headers.push({ name, value });
  }

  remove(name: string): void {
    const k = headerKey(name);
    this.headers = this.headers.filter((h) => headerKey(h.name) !== k);
  }

  startLine(): string {
    return this.isRequest ? `${this.method} ${this.uri} SIP/2.0` : `SIP/2.0 ${this.status} ${this.reason}`;
  }

  cseq(): { seq: number; method: string } {
    const v = this.get('cseq');
    const m = v ? /^\s*(\d+)\s+(\S+)\s*$/.exec(v) : null;
    if (!m) throw new SipParseError(`bad CSeq: ${JSON.stringify(v)}`);
    return { seq: Number(m[1]), method: m[2]!.toUpperCase() };
  }

  /** Serialise with a Content-Length that matches the body. */
  toString(): string {
    const lines = [this.startLine()];
    let sawLength = false;
    for (const h of this.headers) {
      if (headerKey(h.name) === 'content-length') {
        if (sawLength) continue;
        sawLength = true;
        lines.push(`${h.name}: ${Buffer.byteLength(this.body, 'utf8')}`);
      } else lines.push(`${h.name}: ${h.value}`);
    }
    if (!sawLength) lines.push(`Content-Length: ${Buffer.byteLength(this.body, 'utf8')}`);
    return lines.join(CRLF) + CRLF + CRLF + this.body;
  }
}

const REQUEST_LINE = /^([A-Za-z][A-Za-z0-9.!%*_+`'~-]*) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/;

/**
 * Parse one SIP message. `strictLength` (datagrams and stream frames) rejects a Content-Length
 * larger than the body actually present; a shorter Content-Length truncates the body.
 * Messages relayed by apps may omit Content-Length; then the whole rest is the body.
 */
export function parseSip(input: string | Buffer, strictLength = true): SipMessage {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) throw new SipParseError('no end of headers (CRLFCRLF)');
  const head = buf.toString('utf8', 0, end);
  if (head.includes('\0')) throw new SipParseError('NUL byte in headers');
  const rawLines = head.split(CRLF);
  const start = rawLines.shift()!;
  const msg = new SipMessage();
  let m = REQUEST_LINE.exec(start);
  if (m) {
    msg.method = m[1]!.toUpperCase();
    msg.uri = m[2]!;
  } else if ((m = STATUS_LINE.exec(start))) {
    msg.status = Number(m[1]);
    msg.reason = m[2]!;
  } else {
    throw new SipParseError(`bad start line: ${JSON.stringify(start.slice(0, 60))}`);
  }
  for (const line of rawLines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && msg.headers.length) {
      msg.headers[msg.headers.length - 1]!.value += ' ' + line.trim(); // folded line
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`bad header line: ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9.!%*_+`'~-]+$/.test(name)) throw new SipParseError(`bad header name: ${JSON.stringify(name.slice(0, 40))}`);
    msg.headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  for (const required of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!msg.has(required)) throw new SipParseError(`missing ${required} header`);
  }
  msg.cseq(); // validates
  const bodyBuf = buf.subarray(end + 4);
  const cl = msg.get('content-length');
  if (cl !== undefined) {
    if (!/^\s*\d+\s*$/.test(cl)) throw new SipParseError(`bad Content-Length: ${JSON.stringify(cl)}`);
    const n = Number(cl);
    if (n > bodyBuf.length && strictLength) throw new SipParseError(`Content-Length ${n} exceeds body of ${bodyBuf.length} bytes`);
    msg.body = bodyBuf.subarray(0, Math.min(n, bodyBuf.length)).toString('utf8');
  } else {
    msg.body = bodyBuf.toString('utf8');
  }
  return msg;
}

/** Parse an app-supplied message: start line + headers, no mandatory headers required. */
export function parseAppSip(text: string): SipMessage {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text.replace(/\r\n$/, '') : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + 4);
  const lines = head.split(CRLF);
  const start = lines.shift() ?? '';
  const msg = new SipMessage();
  let m = REQUEST_LINE.exec(start);
  if (m) {
    msg.method = m[1]!.toUpperCase();
    msg.uri = m[2]!;
  } else if ((m = STATUS_LINE.exec(start))) {
    msg.status = Number(m[1]);
    msg.reason = m[2]!;
  } else throw new SipParseError(`bad start line: ${JSON.stringify(start.slice(0, 60))}`);
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`bad header line: ${JSON.stringify(line.slice(0, 60))}`);
    msg.headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  const cl = msg.get('content-length');
  msg.body = cl !== undefined && /^\s*\d+\s*$/.test(cl) ? Buffer.from(body, 'utf8').subarray(0, Number(cl)).toString('utf8') : body;
  return msg;
}

// ---- header value helpers ----

/** Value of a `;name=value` parameter (outside <...>), or '' for a bare flag, or undefined. */
export function getParam(value: string, name: string): string | undefined {
  const params = paramSection(value);
  for (const p of params.split(';')) {
    const [k, v] = p.split('=', 2) as [string, string | undefined];
    if (k.trim().toLowerCase() === name.toLowerCase()) return v === undefined ? '' : v.trim();
  }
  return undefined;
}

function paramSection(value: string): string {
  const gt = value.lastIndexOf('>');
  const tail = gt === -1 ? value : value.slice(gt + 1);
  const semi = tail.indexOf(';');
  return semi === -1 ? '' : tail.slice(semi + 1);
}

export function getTag(nameAddr: string | undefined): string | undefined {
  return nameAddr === undefined ? undefined : getParam(nameAddr, 'tag');
}

export function withTag(nameAddr: string, tag: string): string {
  return getTag(nameAddr) !== undefined ? nameAddr : `${nameAddr};tag=${tag}`;
}

/** The URI inside a name-addr (`"x" <sip:a@b>;p` -> sip:a@b) or the addr-spec itself. */
export function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  if (lt !== -1) {
    const gt = nameAddr.indexOf('>', lt);
    return nameAddr.slice(lt + 1, gt === -1 ? undefined : gt).trim();
  }
  const semi = nameAddr.indexOf(';');
  return (semi === -1 ? nameAddr : nameAddr.slice(0, semi)).trim();
}

export interface SipUri {
  user?: string;
  host: string;
  port?: number;
  transport?: string;
}

export function parseUri(uri: string): SipUri {
  const m = /^sips?:(?:([^@;]*)@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?>]*)/i.exec(uri.trim());
  if (!m) throw new SipParseError(`bad SIP URI: ${JSON.stringify(uri.slice(0, 60))}`);
  const out: SipUri = { host: m[2]! };
  if (m[1]) out.user = m[1];
  if (m[3]) out.port = Number(m[3]);
  const t = /;transport=([a-z]+)/i.exec(m[4] ?? '');
  if (t) out.transport = t[1]!.toLowerCase();
  return out;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  branch?: string;
  rport?: string;
}

export function parseVia(value: string): Via {
  const first = value.split(',')[0]!.trim();
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?(.*)$/i.exec(first);
  if (!m) throw new SipParseError(`bad Via: ${JSON.stringify(first.slice(0, 60))}`);
  const via: Via = { transport: m[1]!.toUpperCase(), host: m[2]! };
  if (m[3]) via.port = Number(m[3]);
  const branch = getParam(`x${m[4]}`, 'branch');
  if (branch) via.branch = branch;
  const rport = getParam(`x${m[4]}`, 'rport');
  if (rport !== undefined) via.rport = rport;
  return via;
}
