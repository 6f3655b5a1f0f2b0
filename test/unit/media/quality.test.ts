import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseHangupQuality, parseRtcpReports, recordHangupQuality, recordRtcp } from '../../../lib/media/quality.js';
import { mediaMetrics } from '../../../lib/media/metrics.js';
import { isolatedRegistry } from '../../../lib/metrics/registry.js';
import { metricValue } from '../../lab/wait.js';

/**
 * The rtp_audio_in_* variables of a channel event recorded from real FreeSWITCH 1.10.12
 * (captures play/, CHANNEL_EXECUTE_COMPLETE at hangup; CHANNEL_HANGUP_COMPLETE carries the same).
 */
const recorded = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'recorded-hangup-stats.json'), 'utf8')) as Record<string, string>;
const lookup = (h: Record<string, string>) => (n: string): string | null => h[n] ?? null; // modesl returns null for absent headers

describe('media call quality parsing', () => {
  it('reads jitter, MOS and loss from a recorded FreeSWITCH event', () => {
    const q = parseHangupQuality(lookup(recorded))!;
    expect(q.uuid).to.equal('5b64a093-8415-4ab4-8b15-682c9a79d887');
    expect(q.jitterMaxMs).to.equal(200);
    expect(q.jitterMinMs).to.equal(104.49);
    expect(q.mos).to.equal(4.5);
    expect(q.lossRatio).to.equal(0); // flaw_total 0 (skip_packet_count 14 is not loss)
  });

  it('an event without statistics (what the double sends) yields nothing and records nothing', async () => {
    const registry = isolatedRegistry();
    const m = mediaMetrics(registry);
    const q = parseHangupQuality(lookup({ 'Event-Name': 'CHANNEL_HANGUP_COMPLETE', 'Unique-ID': 'u1', 'Hangup-Cause': 'NORMAL_CLEARING' }));
    expect(q).to.equal(undefined);
    expect(parseRtcpReports(lookup({ 'Event-Name': 'RECV_RTCP_MESSAGE', 'Unique-ID': 'u1' }))).to.deep.equal([]);
    if (q) recordHangupQuality(m, 'sip', q);
    const text = await registry.metrics();
    expect(metricValue(text, 'gw_media_rtp_mos_count', { leg: 'sip' })).to.equal(undefined);
  });

  it('MOS 0 (no media received) is not a score', () => {
    expect(parseHangupQuality(lookup({ variable_rtp_audio_in_mos: '0.00' }))).to.equal(undefined);
  });

  it('records labelled histogram samples only for reported figures', async () => {
    const registry = isolatedRegistry();
    const m = mediaMetrics(registry);
    recordHangupQuality(m, 'h323', parseHangupQuality(lookup(recorded))!);
    recordHangupQuality(m, 'sip', { mos: 4.1 });
    const text = await registry.metrics();
    expect(metricValue(text, 'gw_media_rtp_mos_count', { leg: 'h323' })).to.equal(1);
    expect(metricValue(text, 'gw_media_rtp_mos_sum', { leg: 'h323' })).to.equal(4.5);
    expect(metricValue(text, 'gw_media_rtp_jitter_ms_sum', { leg: 'h323' })).to.equal(200);
    expect(metricValue(text, 'gw_media_rtp_loss_ratio_count', { leg: 'h323' })).to.equal(1);
    expect(metricValue(text, 'gw_media_rtp_mos_count', { leg: 'sip' })).to.equal(1);
    expect(metricValue(text, 'gw_media_rtp_jitter_ms_count', { leg: 'sip' })).to.equal(undefined);
  });

  it('RTCP report blocks: jitter in timestamp units -> ms, fraction /256', async () => {
    const ev = {
      'Event-Name': 'RECV_RTCP_MESSAGE', 'Unique-ID': 'u2', 'Source-Count': '1',
      'Source0-SSRC': '1234', 'Source0-Fraction': '64', 'Source0-Lost': '3', 'Source0-Jitter': '160',
    };
    const r = parseRtcpReports(lookup(ev));
    expect(r).to.deep.equal([{ uuid: 'u2', jitterMs: 20, fractionLost: 0.25 }]);
    const registry = isolatedRegistry();
    const m = mediaMetrics(registry);
    recordRtcp(m, 'sip', r[0]!);
    expect(metricValue(await registry.metrics(), 'gw_media_rtcp_jitter_ms_sum', { leg: 'sip' })).to.equal(20);
  });

  it('mediaMetrics is one set per registry', () => {
    const registry = isolatedRegistry();
    expect(mediaMetrics(registry)).to.equal(mediaMetrics(registry));
  });
});
