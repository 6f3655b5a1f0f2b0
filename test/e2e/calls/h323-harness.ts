/**
 * Wiring for the H.323 -> SIP call suites: the media lab (drachtio target, FreeSWITCH double,
 * srf, MediaController), an H323Listener handing each call to an H323ToSipCall, the H.323 lab
 * endpoint as the caller, and SIPp experts (UAS scenarios in sip-configs/sipp/calls/).
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
  /** A SIPp expert answering one call with the given scenario (RTP from the lab's PCMA pcap). */
  expert(scenario: 'h323-uas-bye' | 'h323-uas-wait-bye' | 'h323-uas-busy' | 'h323-uas-ring-cancel' | 'h323-uas-early' | 'h323-uas-video', holdMs?: number, earlyMs?: number): Promise<SippUas>;
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
  try {
    await listener.listen();
  } catch (e) {
    await media.stop();
    throw e;
  }
  return {
    media, listener, endpoint, registry, calls, targets,
    get invitesPlaced() {
      return invites;
    },
    async expert(scenario, holdMs = 1000, earlyMs = 1500) {
      const xml = readFileSync(scenarioPath(join('calls', `${scenario}.xml`)), 'utf8')
        .replaceAll('@PCAP@', media.pcapFor('PCMA')).replaceAll('@PT@', String(STATIC_PT.PCMA)).replaceAll('@CODEC@', 'PCMA')
        .replaceAll('@EARLY_MS@', String(earlyMs));
      const file = join(media.workDir, `${scenario}-${Date.now()}-${experts.length}.xml`);
      writeFileSync(file, xml);
      const uas = await startSippUas({
        scenario: file, calls: 1, timeoutMs: 30_000,
        args: ['-d', String(holdMs), '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())],
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
      await media.stop();
    },
  };
}
