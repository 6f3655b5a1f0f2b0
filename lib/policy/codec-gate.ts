/**
 * Codec whitelist gate: filters the SDP offer to the allowed codecs. Nothing left -> 488 with a
 * Warning 305 (incompatible media format); unparseable SDP -> 400 with Warning 399, among them a
 * b= line whose bandwidth is not a non-negative integer (b=AS:-1), audited as malformed-bandwidth.
 * An INVITE without an offer (late offer) passes: the offer then comes in the 200/ACK exchange,
 * which the B2BUA must filter the same way (see docs/security.md).
 */
import { allowSetOf, filterSdp } from '../sdp/filter.js';
import { BAD_BANDWIDTH_REASON } from '../sdp/scan.js';
import { admit, reject, type ChainState, type Decision, type Gate, type PolicyRequest } from './types.js';

export interface CodecGateConfig {
  allow?: readonly string[];
  /** Host named in Warning headers. */
  warnAgent?: string;
  maxSdpBytes?: number;
}

export function hasSdp(req: PolicyRequest): boolean {
  const ct = (req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  return ct === 'application/sdp' || (ct === '' && req.body.startsWith('v=0'));
}

/** Warning text is a quoted-string: keep it to safe printable characters. */
export function warningText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, "'").slice(0, 200);
}

export class CodecGate implements Gate {
  readonly name = 'codec';
  readonly methods: readonly string[] = ['INVITE', 'UPDATE'];
  private readonly agent: string;
  private readonly allowSet: ReadonlySet<string>;
  constructor(private readonly cfg: CodecGateConfig = {}) {
    this.agent = cfg.warnAgent ?? 'council-gw';
    this.allowSet = allowSetOf(cfg.allow);
  }

  decide(req: PolicyRequest, state: ChainState): Decision {
    if (!req.body || !hasSdp(req)) return admit('no-offer');
    const res = filterSdp(req.body, { allowSet: this.allowSet, maxBytes: this.cfg.maxSdpBytes });
    if (!res.ok) {
      if (res.malformed) {
        return reject(400, 'Bad Request', res.reason === BAD_BANDWIDTH_REASON ? 'malformed-bandwidth' : 'malformed-sdp', { Warning: `399 ${this.agent} "${warningText(`Malformed SDP: ${res.reason}`)}"` });
      }
      const offered = res.offered.slice(0, 10).join(' ');
      return reject(488, 'Not Acceptable Here', 'no-allowed-codec', {
        Warning: `305 ${this.agent} "${warningText(`Incompatible media format: none of ${offered} is allowed`)}"`,
      });
    }
    state.mutations.sdp = res.sdp;
    state.offer = res.parsed;
    return admit(res.removed.length > 0 ? 'codecs-filtered' : 'ok');
  }
}
