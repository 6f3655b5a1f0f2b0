/**
 * sip-configs/gnugk/gatekeeper.ini against the gateway configs it serves (sip-configs/gateway) and
 * the gateway's expectations of its neighbour, read the way GnuGk 5.15 reads them
 * (test/e2e/h323-ras/gnugk-ini.ts): every alias the gateway answers LRQs for (its zone prefixes
 * and aliases, its council room aliases) is in each neighbour's SendPrefixes, GnuGk pings each
 * neighbour (SendLRQPing=1) often enough for the GnuGkNeighbourSilent alert and the live RAS test,
 * and waits long enough for the gateway's RequestInProgress. Sibling of compose.test.ts, which
 * checks the addresses.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { validateConfig, type GatewayConfig } from '../../../lib/config/gateway-config.js';
import { GnuGkIni, LRQ_FEATURES } from '../../e2e/h323-ras/gnugk-ini.js';
import { parseEnvFile } from './compose-model.js';

const envExample = parseEnvFile(readFileSync(join(repoRoot, '.env.example'), 'utf8'));

/** What compose's x-gateway-env gives the gateway process (as in compose.test.ts). */
const env = {
  DRACHTIO_SECRET: envExample.DRACHTIO_SECRET,
  POLICY_NONCE_SECRET: envExample.POLICY_NONCE_SECRET,
  FS_ESL_SECRET: envExample.FS_ESL_SECRET,
  REDIS_URL: `redis://:${envExample.REDIS_PASSWORD}@redis:6379/0`,
  ADMIN_TOKEN: envExample.ADMIN_TOKEN,
  REGISTRY_FILE: '/etc/gateway/registry.json',
  AUDIT_DIR: '/var/lib/gateway/audit',
};

function gatewayConfig(file: string): GatewayConfig {
  return validateConfig(JSON.parse(readFileSync(join(repoRoot, 'sip-configs/gateway', file), 'utf8')), env);
}

/** Aliases GnuGk must send LRQs to the gateway for: zone prefixes and aliases, council room aliases. */
function servedAliases(cfg: GatewayConfig): string[] {
  return [...(cfg.h323?.localZone.prefixes ?? []), ...(cfg.h323?.localZone.aliases ?? []), ...(cfg.council?.rooms.flatMap((r) => r.h323Aliases) ?? [])];
}

/**
 * What the gateway expects of GnuGk's pings, from its GnuGkNeighbourSilent alert: the window in
 * which no LRQ at all pages, and the ping period its summary (and the runbook) promise.
 */
function livenessExpectation(): { windowS: number; pingPeriodS: number } {
  const rules = readFileSync(join(repoRoot, 'sip-configs/prometheus/rules/gateway.rules.yml'), 'utf8');
  const block = /- alert: GnuGkNeighbourSilent\n([\s\S]*?)(?=\n\s*- alert:|$)/.exec(rules)?.[1] ?? '';
  const window = /type="locationRequest"\}\[(\d+)([sm])\]/.exec(block);
  const period = /(\d+) s monitoring ping/.exec(block);
  if (!window || !period) throw new Error('GnuGkNeighbourSilent: no LRQ window or ping period found in gateway.rules.yml');
  return { windowS: Number(window[1]) * (window[2] === 'm' ? 60 : 1), pingPeriodS: Number(period[1]) };
}

/** GnuGk 5.15's known keys of the sections the gateway depends on (gk.cxx:578-596, :959-980). */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  [LRQ_FEATURES]: ['AcceptForwardedLRQ', 'AcceptNonNeighborLCF', 'AcceptNonNeighborLRQ', 'AlwaysForwardLRQ', 'EnableLanguageRouting', 'ForwardHopCount',
    'ForwardLRQ', 'ForwardResponse', 'LoopDetection', 'LoopDetectionExpireTime', 'LoopDetectionReprocessLCFs', 'LRQPingInterval', 'NeighborTimeout',
    'PingAlias', 'SendLRQPing', 'SendRetries', 'SendRIP'],
  'Neighbor::': ['AcceptForwardedLRQ', 'AcceptPrefixes', 'AuthUser', 'Dynamic', 'ForwardHopCount', 'ForwardLRQ', 'ForwardResponse', 'GatekeeperIdentifier',
    'H46018Client', 'H46018Server', 'Host', 'Password', 'SendAliases', 'SendAuthUser', 'SendIPs', 'SendLRQPing', 'SendPassword', 'SendPrefixes', 'UseTLS'],
};

/** GnuGk compares section and key names caselessly (PConfig). */
const known = (section: string, key: string): boolean => KNOWN_KEYS[section]!.some((k) => k.toLowerCase() === key.toLowerCase());

/** Everything in `ini` that breaks the gateway's expectations, one line each (empty: none). */
function problems(ini: GnuGkIni, gateways: Record<string, GatewayConfig>): string[] {
  const out: string[] = [];
  const { windowS, pingPeriodS } = livenessExpectation();
  const neighbours = ini.neighbours();
  if (neighbours.length === 0) out.push('no neighbour in [RasSrv::Neighbors]');
  for (const nb of neighbours) {
    const send = ini.sendPrefixes(nb);
    for (const [file, cfg] of Object.entries(gateways)) {
      for (const a of servedAliases(cfg)) {
        if (!send.some((p) => p === '*' || a.startsWith(p))) out.push(`${nb}: SendPrefixes=${send.join(',')} lacks ${a} (served by ${file})`);
      }
      for (const r of cfg.dialPlan.filter((d) => d.h323Target === 'gatekeeper')) {
        const accept = ini.acceptPrefixes(nb);
        if (!accept.some((p) => p === '*' || r.prefix.startsWith(p))) out.push(`${nb}: AcceptPrefixes=${accept.join(',')} refuses the gateway's LRQs for ${r.prefix}... (${file} dial plan)`);
      }
    }
    const ping = ini.lrqPing(nb);
    if (!ping.enabled) out.push(`${nb}: no LRQ pings (SendLRQPing=1 in [${LRQ_FEATURES}] or [Neighbor::${nb}])`);
    if (ping.intervalS <= 0 || ping.intervalS > pingPeriodS) out.push(`${nb}: ping interval ${ping.intervalS} s, the gateway expects one every ${pingPeriodS} s`);
    if (ping.intervalS > 0 && windowS / ping.intervalS < 4) out.push(`${nb}: ping interval ${ping.intervalS} s gives fewer than 4 pings in the ${windowS} s GnuGkNeighbourSilent window`);
    for (const k of ini.keys(`Neighbor::${nb}`)) if (!known('Neighbor::', k)) out.push(`[Neighbor::${nb}] ${k}: not a GnuGk 5.15 key`);
  }
  for (const k of ini.keys(LRQ_FEATURES)) if (!known(LRQ_FEATURES, k)) out.push(`[${LRQ_FEATURES}] ${k}: not a GnuGk 5.15 key`);
  const timeoutMs = ini.neighbourTimeoutMs();
  for (const [file, cfg] of Object.entries(gateways)) {
    const rip = cfg.h323?.lookup.ripAfterMs ?? 250;
    if (timeoutMs <= rip) out.push(`NeighborTimeout ${timeoutMs} ms: GnuGk gives up before ${file}'s RequestInProgress (${rip} ms)`);
  }
  const interval = neighbours.length ? ini.lrqPing(neighbours[0]!).intervalS : 0;
  if (interval > 0 && timeoutMs >= interval * 1000) out.push(`NeighborTimeout ${timeoutMs} ms is not below the ping interval`);
  return out;
}

describe('GnuGk config (sip-configs/gnugk/gatekeeper.ini) vs the gateway configs', () => {
  const gateways = { 'gateway.json': gatewayConfig('gateway.json'), 'gateway-b.json': gatewayConfig('gateway-b.json') };
  const ini = GnuGkIni.read();

  it('reads what the gateways serve: the 9 prefix and the council alias 8100', () => {
    for (const cfg of Object.values(gateways)) expect(servedAliases(cfg)).to.include.members(['9', '8100']);
    expect(ini.neighbours()).to.deep.equal(['GW1', 'GW2']);
    expect(livenessExpectation()).to.deep.equal({ windowS: 120, pingPeriodS: 5 });
  });

  it('sends LRQs for every served alias to each neighbour, pings each often enough, waits for RIP', () => {
    expect(problems(ini, gateways)).to.deep.equal([]);
    for (const nb of ini.neighbours()) {
      expect(ini.sendPrefixes(nb), nb).to.include.members(['9', '8100']);
      expect(ini.lrqPing(nb), nb).to.deep.equal({ enabled: true, intervalS: 5 });
    }
    expect(ini.neighbourTimeoutMs()).to.equal(500);
  });

  it('finds what the previous file got wrong (SendPrefixes=9 only, no pings, 100 ms timeout)', () => {
    const old = new GnuGkIni(`[RasSrv::Neighbors]\nGW1=GnuGk\n[Neighbor::GW1]\nHost=172.28.0.10:1721\nSendPrefixes=9\nAcceptPrefixes=*\n` +
      `[RasSrv::LRQFeatures]\nNeighborTimeout=1\nSendRetries=2\nAcceptNonNeighborLRQ=0\n`);
    const p = problems(old, gateways);
    expect(p).to.include('GW1: SendPrefixes=9 lacks 8100 (served by gateway.json)');
    expect(p).to.include('GW1: no LRQ pings (SendLRQPing=1 in [RasSrv::LRQFeatures] or [Neighbor::GW1])');
    // GnuGk's default interval once pings are on (60 s) is too slow for the alert as well.
    expect(p).to.include('GW1: ping interval 60 s, the gateway expects one every 5 s');
    expect(p).to.include("NeighborTimeout 100 ms: GnuGk gives up before gateway.json's RequestInProgress (250 ms)");
  });

  it('reads the keys as GnuGk does: caseless, SendLRQPing per neighbour, LRQPingInterval only globally, priorities stripped', () => {
    const ini2 = new GnuGkIni(`[rassrv::neighbors]\nA=GnuGk\n[Neighbor::A]\nsendprefixes=9:=2, 8100\nSendLRQPing=1\nLRQPingInterval=5\n`);
    expect(ini2.sendPrefixes('A')).to.deep.equal(['9', '8100']);
    // LRQPingInterval in a neighbour section is not read (Neighbor.cxx:544): GnuGk's 60 s default applies.
    expect(ini2.lrqPing('A')).to.deep.equal({ enabled: true, intervalS: 60 });
    expect(problems(ini2, gateways)).to.include('[Neighbor::A] LRQPingInterval: not a GnuGk 5.15 key');
    expect(new GnuGkIni('[RasSrv::LRQFeatures]\nSendLRQPing=yes\n').bool(LRQ_FEATURES, 'SendLRQPing')).to.equal(true);
    expect(new GnuGkIni('[RasSrv::LRQFeatures]\nSendLRQPing=0\n').bool(LRQ_FEATURES, 'SendLRQPing')).to.equal(false);
  });
});
