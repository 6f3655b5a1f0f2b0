/**
 * ESL (FreeSWITCH event socket) text framing, both directions, as recorded in
 * test/fixtures/freeswitch/*-esl-messages.txt: LF line ends; a message is `Name: value` lines and an
 * empty line, then Content-Length bytes of body when that header is present.
 */

/** Largest command frame (headers + body) the double accepts from a client. */
export const MAX_COMMAND_BYTES = 64 * 1024;

export interface EslCommand {
  /** First line, e.g. `api sofia status`, `sendmsg <uuid>`. */
  line: string;
  /** Header lines after the first (sendmsg), in order; names as sent. */
  headers: Array<[string, string]>;
  body?: string;
}

export class EslFrameError extends Error {}

/**
 * Splits the byte stream a client sends into commands. `push()` returns the complete commands so
 * far and throws EslFrameError on an oversized or malformed frame (the caller drops the client).
 */
export class EslCommandParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): EslCommand[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: EslCommand[] = [];
    for (;;) {
      const end = findBlankLine(this.buf);
      if (end === undefined) {
        if (this.buf.length > MAX_COMMAND_BYTES) throw new EslFrameError(`command frame over ${MAX_COMMAND_BYTES} bytes without end`);
        return out;
      }
      const head = this.buf.subarray(0, end.at).toString('utf8');
      const lines = head.split(/\r?\n/);
      // Blank lines between commands (a client that sends extra LFs) are skipped.
      if (head.trim() === '') {
        this.buf = this.buf.subarray(end.at + end.len);
        continue;
      }
      while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
      const line = lines.shift()!.trim();
      const headers: Array<[string, string]> = [];
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i <= 0) throw new EslFrameError(`malformed header line in command '${line.slice(0, 60)}'`);
        headers.push([l.slice(0, i).trim(), l.slice(i + 1).trim()]);
      }
      const cl = headers.find(([k]) => k.toLowerCase() === 'content-length');
      let consumed = end.at + end.len;
      let body: string | undefined;
      if (cl) {
        const n = Number(cl[1]);
        if (!Number.isInteger(n) || n < 0 || n > MAX_COMMAND_BYTES) throw new EslFrameError(`bad Content-Length '${cl[1]}'`);
        if (this.buf.length < consumed + n) {
          if (consumed + n > MAX_COMMAND_BYTES) throw new EslFrameError('command frame too large');
          return out;
        }
        body = this.buf.subarray(consumed, consumed + n).toString('utf8');
        consumed += n;
      }
      if (consumed > MAX_COMMAND_BYTES) throw new EslFrameError(`command frame over ${MAX_COMMAND_BYTES} bytes`);
      this.buf = this.buf.subarray(consumed);
      out.push(body === undefined ? { line, headers } : { line, headers, body });
    }
  }
}

function findBlankLine(b: Buffer): { at: number; len: number } | undefined {
  for (let i = 0; i < b.length - 1; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return { at: i, len: 2 };
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) return { at: i, len: 3 };
  }
  return undefined;
}

/** Header value helper (case-insensitive). */
export function cmdHeader(c: EslCommand, name: string): string | undefined {
  const n = name.toLowerCase();
  return c.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

/** A message the server sends: headers then optional body (Content-Length added when a body is given). */
export function encodeMessage(headers: Array<[string, string]>, body?: string): string {
  const h = headers.map(([k, v]) => `${k}: ${v}\n`).join('');
  if (body === undefined) return `${h}\n`;
  return `Content-Length: ${Buffer.byteLength(body)}\n${h}\n${body}`;
}

export function commandReply(text: string): string {
  return `Content-Type: command/reply\nReply-Text: ${text}\n\n`;
}

export function apiResponse(body: string): string {
  return `Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
}

export function authRequest(): string {
  return 'Content-Type: auth/request\n\n';
}

/** `text/event-json`: Content-Length first, as FreeSWITCH writes it. */
export function jsonEvent(fields: Record<string, string>): string {
  const body = JSON.stringify(fields);
  return `Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-json\n\n${body}`;
}

const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

export function disconnectNotice(controlledUuid?: string): string {
  const h = ['Content-Type: text/disconnect-notice'];
  if (controlledUuid) h.push(`Controlled-Session-UUID: ${controlledUuid}`, 'Content-Disposition: disconnect');
  h.push(`Content-Length: ${Buffer.byteLength(GOODBYE)}`);
  return `${h.join('\n')}\n\n${GOODBYE}`;
}

/** FreeSWITCH URL-encodes header values of plain (non-JSON) messages such as CHANNEL_DATA. */
export function urlEncodeValue(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
