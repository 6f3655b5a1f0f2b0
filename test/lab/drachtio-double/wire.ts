/**
 * Payloads of the drachtio control protocol: one `|`-separated leader line, optionally CRLF and a
 * raw SIP message. token[0] is the message id, token[1] the type.
 */
import { uuid } from './ids.js';

const CRLF = '\r\n';

export interface WireMessage {
  id: string;
  type: string;
  /** All leader tokens, including id and type. */
  tokens: string[];
  /** Raw SIP text after the leader, if any. */
  sip?: string;
}

export class WireParseError extends Error {}

export function parseWire(payload: string): WireMessage {
  const crlf = payload.indexOf(CRLF);
  const leader = crlf === -1 ? payload : payload.slice(0, crlf);
  const tokens = leader.split('|');
  if (tokens.length < 2 || tokens[0] === '' || tokens[1] === '') {
    throw new WireParseError(`leader has no id|type: ${JSON.stringify(leader.slice(0, 80))}`);
  }
  const msg: WireMessage = { id: tokens[0]!, type: tokens[1]!, tokens };
  if (crlf !== -1) msg.sip = payload.slice(crlf + 2);
  return msg;
}

/** Build a payload from tokens (a fresh id is prepended) and optional SIP. */
export function buildWire(tokens: string[], sip?: string): { id: string; payload: string } {
  const id = uuid();
  const leader = [id, ...tokens].join('|');
  return { id, payload: sip === undefined ? leader : `${leader}${CRLF}${sip}` };
}

/** `response|<answered id>|OK|...` */
export function okResponse(answered: string, rest: string[] = [], sip?: string): string {
  return buildWire(['response', answered, 'OK', ...rest], sip).payload;
}

export function noResponse(answered: string, reason: string): string {
  return buildWire(['response', answered, 'NO', reason]).payload;
}

export function nokResponse(answered: string, reason: string): string {
  return buildWire(['response', answered, 'NOK', reason]).payload;
}
