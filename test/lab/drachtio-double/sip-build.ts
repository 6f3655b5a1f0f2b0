/**
 * How the real server completes messages: responses get Via/From/To(+tag)/Call-ID/CSeq from the
 * request and a Contact on 2xx to INVITE; new requests get Via/Max-Forwards/From/To/Call-ID/CSeq/
 * Contact. Header order follows what sofia-sip puts on the wire in the captures.
 */
import { SipMessage, canonicalName, headerKey, type SipHeader } from './sip-message.js';
import type { SipTransportName } from './transport.js';

export interface LocalAddress {
  host: string;
  port: number;
}

/** `<sip:host:port>` plus `;transport=tcp` over TCP, as the server fills Contact. */
export function localContact(local: LocalAddress, transport: SipTransportName): string {
  return `<sip:${local.host}:${local.port}${transport === 'tcp' ? ';transport=tcp' : ''}>`;
}

/** Via sent-by: the real server omits the default port 5060. */
export function viaSentBy(local: LocalAddress): string {
  return local.port === 5060 ? local.host : `${local.host}:${local.port}`;
}

/** Add `rport=<port>` (and `received` if the host differs) to the top Via of a raw message. */
export function stampTopVia(raw: string, address: string, port: number): string {
  const m = /^(via|v)[ \t]*:[^\r\n]*/im.exec(raw);
  if (!m) return raw;
  const line = m[0];
  const colon = line.indexOf(':');
  const value = line.slice(colon + 1);
  const comma = value.indexOf(',');
  let first = comma === -1 ? value : value.slice(0, comma);
  const rest = comma === -1 ? '' : value.slice(comma);
  const hostMatch = /SIP\s*\/\s*2\.0\s*\/\s*\S+\s+(\[[^\]]+\]|[^:;\s]+)/i.exec(first);
  if (/;\s*rport\s*(?=;|$)/i.test(first.trimEnd())) first = first.trimEnd().replace(/;\s*rport\s*(?=;|$)/i, `;rport=${port}`);
  else if (!/;\s*rport\s*=/i.test(first)) first = `${first.trimEnd()};rport=${port}`;
  if (hostMatch && hostMatch[1] !== address && !/;\s*received\s*=/i.test(first)) first = `${first.trimEnd()};received=${address}`;
  const newLine = line.slice(0, colon + 1) + first + rest;
  return raw.slice(0, m.index) + newLine + raw.slice(m.index + line.length);
}

const FILLED_BY_SERVER = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length', 'content-type', 'contact', 'max-forwards']);

export interface ResponseParts {
  status: number;
  reason: string;
  toTag?: string;
  contact?: string;
  /** Extra headers in order (app's custom headers). */
  headers?: SipHeader[];
  contentType?: string;
  body?: string;
}

export function buildResponse(req: SipMessage, parts: ResponseParts): SipMessage {
  const res = new SipMessage();
  res.status = parts.status;
  res.reason = parts.reason;
  // every Via of the request, in order (RFC 3261 8.2.6.2)
  for (const h of req.headers) if (headerKey(h.name) === 'via') res.headers.push({ name: 'Via', value: h.value });
  const get = (n: string): string => req.get(n) ?? '';
  res.headers.push({ name: 'From', value: get('from') });
  const to = get('to');
  res.headers.push({ name: 'To', value: parts.toTag && !/;\s*tag=/i.test(to) ? `${to};tag=${parts.toTag}` : to });
  res.headers.push({ name: 'Call-ID', value: get('call-id') });
  res.headers.push({ name: 'CSeq', value: get('cseq') });
  if (parts.contact) res.headers.push({ name: 'Contact', value: parts.contact });
  for (const h of parts.headers ?? []) res.headers.push({ name: canonicalName(h.name), value: h.value });
  const body = parts.body ?? '';
  if (parts.contentType) res.headers.push({ name: 'Content-Type', value: parts.contentType });
  else if (body.length) res.headers.push({ name: 'Content-Type', value: 'application/sdp' });
  res.headers.push({ name: 'Content-Length', value: String(Buffer.byteLength(body, 'utf8')) });
  res.body = body;
  return res;
}

/** Headers of an app message that the server passes through (everything it does not fill). */
export function customHeaders(appMsg: SipMessage, keep: string[] = []): SipHeader[] {
  return appMsg.headers.filter((h) => !FILLED_BY_SERVER.has(headerKey(h.name)) || keep.includes(headerKey(h.name)));
}

/** Replace a `localhost` host in an app-supplied From/Contact with the server's address. */
export function rewriteLocalhost(value: string, local: LocalAddress): string {
  return value.replace(/@localhost(?::\d+)?/i, `@${local.host}:${local.port}`).replace(/sip:localhost(?::\d+)?/i, `sip:${local.host}:${local.port}`);
}
