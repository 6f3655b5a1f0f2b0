/**
 * Lab for the SIP -> H.323 suites: the media lab (drachtio target, FreeSWITCH double or real
 * FreeSWITCH, srf app, MediaController) plus an H.323 lab endpoint, an srf INVITE handler running
 * SipToH323Call towards it, SIPp callers from sip-configs/sipp/calls with RTP from the PCMA pcap,
 * and the test's own ESL connection to that FreeSWITCH (CHANNEL_BRIDGE and
 * CHANNEL_HANGUP_COMPLETE subscribed) for what FreeSWITCH itself says.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { predial } from '../../../lib/h323/call/dialer.js';
import { SipToH323Call, type SipToH323Deps, type SipToH323Outcome } from '../../../lib/calls/index.js';
import { H323Endpoint, type EndpointOptions } from '../../lab/h323-endpoint/endpoint.js';
import { STATIC_PT } from '../../lab/freeswitch-double/rtp.js';
import { runSipp, type SippResult } from '../../lab/sipp.js';
import { freeMediaPort } from '../../lab/ports.js';
import { repoRoot } from '../../support/paths.js';
import { startMediaLab, type MediaLab } from '../media/harness.js';
import { EslClient } from '../../support/esl.js';
import type { Registry } from 'prom-client';

export interface CallsLab {
  lab: MediaLab;
  endpoint: H323Endpoint;
  /** gw_sip_h323_* live here (and the H.323 call metrics). */
  registry: Registry;
  /** Every SipToH323Call the app made, in order. */
  calls: SipToH323Call[];
  outcomes: Array<Promise<SipToH323Outcome>>;
  /** Causes SipToH323Call passed to H323Call#hangup, per dialled call (spied through the injected predial). */
  hangups: number[][];
  /** The test's own ESL connection to the lab's FreeSWITCH (double or real). */
  esl: EslClient;
  caller(o: {
    scenario: 'bye' | 'wait-bye' | 'reject' | 'cancel' | 'early' | 'video';
    status?: number;
    holdMs?: number;
    /** Offer this payload type / encoding instead of PCMA (8). */
    offer?: { pt: number; codec: string; /** Static payload types offered after it (no rtpmap needed). */ alsoStatic?: number[] };
    /** The video codec of the 'video' scenario's m=video line. */
    video?: { pt: number; codec: string; /** The m=video port (default SIPp's media port + 2). */ port?: number };
    /** SIPp's media port (-mp), e.g. one an RtpTap listens on; default a free one. */
    mediaPort?: number;
  }): Promise<SippResult>;
  stop(): Promise<void>;
}

export async function startCallsLab(
  o: { endpoint?: EndpointOptions; deps?: Partial<SipToH323Deps>; target?: { host: string; port: number } } = {},
): Promise<CallsLab> {
  const lab = await startMediaLab();
  const endpoint = new H323Endpoint({ rtpPackets: 50, ...o.endpoint });
  let esl: EslClient | undefined;
  try {
    esl = await EslClient.connect(lab.config.esl);
    await esl.subscribe(['CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE']);
    const addr = await endpoint.listen(0);
    const registry = isolatedRegistry();
    const calls: SipToH323Call[] = [];
    const outcomes: Array<Promise<SipToH323Outcome>> = [];
    const hangups: number[][] = [];
    const spyPredial: SipToH323Deps['predial'] = (host, port, po) => {
      const pending = predial(host, port, po);
      return {
        get state() {
          return pending.state;
        },
        abandon: () => pending.abandon(),
        dial: (opts) => {
          const call = pending.dial(opts);
          const causes: number[] = [];
          hangups.push(causes);
          const orig = call.hangup.bind(call);
          call.hangup = (cause?: number): void => {
            causes.push(cause ?? 16);
            orig(cause);
          };
          return call;
        },
      };
    };
    const deps: SipToH323Deps = { media: lab.media, predial: spyPredial, registry, callOptions: { registry }, ...o.deps };
    lab.onInvite((req, res) => {
      // As the gateway does: the policy chain's SDP (here the offer unchanged).
      const c = new SipToH323Call(deps, req, res, { ...(o.target ?? addr), calledNumber: '1000' }, { offerSdp: req.body });
      calls.push(c);
      outcomes.push(c.run());
    });
    return {
      lab, endpoint, registry, calls, outcomes, hangups, esl: esl as EslClient,
      async caller(s): Promise<SippResult> {
        const xml = readFileSync(join(repoRoot, 'sip-configs', 'sipp', 'calls', `sip-to-h323-${s.scenario}.xml`), 'utf8')
          .replaceAll('@PCAP@', lab.pcapFor('PCMA')).replaceAll('@PT@', String(s.offer?.pt ?? STATIC_PT.PCMA))
          .replaceAll('@CODEC@', s.offer?.codec ?? 'PCMA')
          .replace(/^(\s*m=audio \[media_port\] RTP\/AVP \d+)/m, `$1${(s.offer?.alsoStatic ?? []).map((p) => ` ${p}`).join('')}`)
          .replaceAll('@STATUS@', String(s.status ?? 0))
          .replaceAll('@VPT@', String(s.video?.pt ?? 96)).replaceAll('@VCODEC@', s.video?.codec ?? 'VP8')
          .replaceAll('@VPORT@', s.video?.port !== undefined ? String(s.video.port) : '[media_port+2]');
        const file = join(lab.workDir, `${s.scenario}-${calls.length}-${Date.now()}.xml`);
        writeFileSync(file, xml);
        return runSipp({
          target: `${lab.drachtio.sipHost}:${lab.drachtio.sipPort}`,
          scenario: file,
          service: '1000',
          timeoutMs: 30_000,
          args: ['-d', String(s.holdMs ?? 2800), '-mi', '127.0.0.1', '-mp', String(s.mediaPort ?? (await freeMediaPort()))],
        });
      },
      async stop(): Promise<void> {
        esl?.close();
        await endpoint.close();
        await lab.stop();
      },
    };
  } catch (e) {
    esl?.close();
    await endpoint.close();
    await lab.stop();
    throw e;
  }
}
