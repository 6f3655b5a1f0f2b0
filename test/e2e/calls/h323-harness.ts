/**
 * Wiring for the H.323 -> SIP call suites: the media lab (drachtio target, FreeSWITCH double or
 * real FreeSWITCH, srf, MediaController), an H323Listener handing each call to an H323ToSipCall,
 * the H.323 lab endpoint as the caller, SIPp experts (UAS scenarios in sip-configs/sipp/calls/),
 * and the test's own ESL connection to that FreeSWITCH (CHANNEL_BRIDGE and
 * CHANNEL_HANGUP_COMPLETE subscribed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { H323Listener } from '../../../lib/h323/call/index.js';
import { H323ToSipCall, type ExpertTarget } from '../../../lib/calls/h323-to-sip.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { createLogger } from '../../../lib/log/logger.js';
import type { GatewaySrf } from '../../../types/drachtio-srf.js';
import { H323Endpoint } from '../../lab/h323-endpoint/endpoint.js';
import { STATIC_PT } from '../../lab/freeswitch-double/rtp.js';
import { freeMediaPort } from '../../lab/ports.js';
import { startSippUas, stopAllSipp, scenarioPath, type SippUas } from '../../lab/sipp.js';
import { startMediaLab, type MediaLab } from '../media/harness.js';
import { EslClient } from '../../support/esl.js';

export interface H323SipLab {
  media: MediaLab;
  listener: H323Listener;
  endpoint: H323Endpoint;
  /** Registry of the gateway side (listener calls and H323ToSipCall metrics). */
  registry: Registry;
  calls: H323ToSipCall[];
  /** INVITEs the gateway placed (createUAC calls). */
  readonly invitesPlaced: number;
  /** Alias -> lookup answer for the next calls. */
  targets: Map<string, ExpertTarget>;
  /** The test's own ESL connection to the lab's FreeSWITCH (double or real). */
  esl: EslClient;
  /**
   * A SIPp expert answering one call with the given scenario (RTP from the lab's PCMA pcap).
   * `mediaPort`: SIPp's -mp (e.g. one an RtpTap listens on); `telephoneEvent`: the answer also
   * takes telephone-event/8000 (payload type 101), as a phone with a keypad does.
   */
  expert(
    scenario: 'h323-uas-bye' | 'h323-uas-wait-bye' | 'h323-uas-busy' | 'h323-uas-ring-cancel' | 'h323-uas-early' | 'h323-uas-video',
    holdMs?: number, earlyMs?: number, o?: { mediaPort?: number; telephoneEvent?: boolean; /** h323-uas-video's m=video port (0: refused). */ videoPort?: number },
  ): Promise<SippUas>;
  stop(): Promise<void>;
}

export async function startH323SipLab(o: { rtpPackets?: number; noAnswerMs?: number } = {}): Promise<H323SipLab> {
  const media = await startMediaLab();
  const registry = isolatedRegistry();
  const calls: H323ToSipCall[] = [];
  const targets = new Map<string, ExpertTarget>();
  let invites = 0;
  const srf = media.srf;
  const countingSrf = Object.create(srf) as GatewaySrf;
  countingSrf.createUAC = ((...args: Parameters<GatewaySrf['createUAC']>) => {
    invites++;
    return (srf.createUAC as (...a: unknown[]) => ReturnType<GatewaySrf['createUAC']>).apply(srf, args);
  }) as GatewaySrf['createUAC'];
  const log = createLogger(process.env.LOG_LEVEL ?? 'error');
  const listener = new H323Listener({
    host: '127.0.0.1',
    port: 0,
    callOptions: { codecs: ['PCMA', 'PCMU'], media: { rtp: { host: '127.0.0.1', port: 0 } }, fastStart: true, tunnel: true, registry },
    onCall: (call) => {
      const c = new H323ToSipCall(call, {
        media: media.media, srf: countingSrf, log, registry,
        lookup: async (alias) => targets.get(alias),
        ...(o.noAnswerMs !== undefined ? { noAnswerMs: o.noAnswerMs } : {}),
      });
      calls.push(c);
      void c.start();
    },
  });
  const endpoint = new H323Endpoint({ rtpPackets: o.rtpPackets ?? 100, codecs: ['PCMA', 'PCMU'] });
  const experts: SippUas[] = [];
  let esl: EslClient | undefined;
  try {
    esl = await EslClient.connect(media.config.esl);
    await esl.subscribe(['CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE']);
    await listener.listen();
  } catch (e) {
    esl?.close();
    await media.stop();
    throw e;
  }
  const client = esl;
  return {
    media, listener, endpoint, registry, calls, targets, esl: client,
    get invitesPlaced() {
      return invites;
    },
    async expert(scenario, holdMs = 1000, earlyMs = 1500, eo = {}) {
      let xml = readFileSync(scenarioPath(join('calls', `${scenario}.xml`)), 'utf8');
      if (eo.telephoneEvent) {
        xml = xml.replace(/^(\s*)(m=audio \[media_port\] RTP\/AVP @PT@)(\r?\n\s*a=rtpmap:@PT@ @CODEC@\/8000)/gm, '$1$2 101$3\n$1a=rtpmap:101 telephone-event/8000\n$1a=fmtp:101 0-15');
      }
      xml = xml.replaceAll('@PCAP@', media.pcapFor('PCMA')).replaceAll('@PT@', String(STATIC_PT.PCMA)).replaceAll('@CODEC@', 'PCMA')
        .replaceAll('@EARLY_MS@', String(earlyMs)).replaceAll('@VPORT@', eo.videoPort !== undefined ? String(eo.videoPort) : '[media_port+2]');
      const file = join(media.workDir, `${scenario}-${Date.now()}-${experts.length}.xml`);
      writeFileSync(file, xml);
      const uas = await startSippUas({
        scenario: file, calls: 1, timeoutMs: 30_000,
        args: ['-d', String(holdMs), '-mi', '127.0.0.1', '-mp', String(eo.mediaPort ?? (await freeMediaPort()))],
      });
      experts.push(uas);
      return uas;
    },
    async stop() {
      for (const e of experts) await e.stop().catch(() => undefined);
      stopAllSipp();
      await endpoint.close();
      await listener.close();
      await Promise.all(calls.map((c) => c.whenFinished));
      client.close();
      await media.stop();
    },
  };
}
