/**
 * ESL (FreeSWITCH event socket) framing of what FreeSWITCH sends: header lines, a blank line, then
 * Content-Length bytes of body. Shared by the test's ESL client (test/support/esl.ts) and the
 * real-server launcher's readiness probe (test/lab/real-servers/esl.ts).
 */

export interface EslMessage {
  /** Header names lower-cased, values trimmed. */
  headers: Record<string, string>;
  body: string;
}

/** Splits an ESL byte stream into messages (headers, blank line, Content-Length body). */
export class EslReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): EslMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: EslMessage[] = [];
    for (;;) {
      const end = this.buf.indexOf('\n\n');
      if (end < 0) return out;
      const headers: Record<string, string> = {};
      for (const line of this.buf.subarray(0, end).toString('utf8').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (this.buf.length < end + 2 + len) return out;
      out.push({ headers, body: this.buf.subarray(end + 2, end + 2 + len).toString('utf8') });
      this.buf = this.buf.subarray(end + 2 + len);
    }
  }
}
