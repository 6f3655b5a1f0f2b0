/** audit verify, codec analyze and codec catalogue. */
import type { Command } from 'commander';
import { verifyAuditDir, type ChainHead } from '../../lib/audit/verify.js';
import { analyseCouncil, councilMarkdown } from '../../lib/sdp/council.js';
import { CATALOGUE, efficiency, wireBps } from '../../lib/sdp/catalogue.js';
import { DEFAULT_ALLOWED_CODECS } from '../../lib/sdp/filter.js';
import { CliError, type CliIO } from './io.js';

function parseAnchor(s: string): ChainHead {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(s);
  if (!m) throw new CliError('--anchor must be <seq>:<64 hex hash>', 2);
  return { seq: Number(m[1]), hash: m[2]! };
}

export function catalogueMarkdown(): string {
  const allowed = new Set(DEFAULT_ALLOWED_CODECS.map((c) => c.toLowerCase()));
  const rows = CATALOGUE.map((c) => {
    const w = wireBps(c);
    return `| ${c.name} | ${c.kind} | ${c.staticPt ?? '-'} | ${c.clockRate} | ${(c.bitrateBps / 1000).toFixed(1)} | ${c.ptimeMs ?? '-'} | ${(w / 1000).toFixed(1)} | ${c.event ? '-' : c.quality.toFixed(1)} | ${c.event ? '-' : efficiency(c).toFixed(1)} | ${allowed.has(c.name.toLowerCase()) ? 'yes' : 'no'} |`;
  });
  return [
    '| codec | kind | static PT | clock | payload kbps | ptime ms | on-wire kbps (IPv4) | quality | efficiency (quality/Mbps) | allowed by default |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

export function addAuditCodecCommands(program: Command, io: CliIO, done: (code: number) => void): void {
  const audit = program.command('audit').description('witness audit log tools');
  audit
    .command('verify <dir>')
    .description('verify the hash chain across all audit files; exits 1 and names the first bad record')
    .option('--anchor <seq:hash>', 'a head recorded elsewhere; detects tail truncation and rewrites')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, o: { anchor?: string; json?: boolean }) => {
      const res = verifyAuditDir(dir, o.anchor ? { anchor: parseAnchor(o.anchor) } : {});
      if (o.json) io.out(`${JSON.stringify(res)}\n`);
      else if (res.ok) io.out(`OK: ${res.records} records in ${res.files.length} file(s); head seq ${res.head.seq} ${res.head.hash}\n`);
      else {
        const b = res.firstBad!;
        io.err(`FAIL: first bad record at ${b.file}:${b.line} (seq ${b.seq}): ${b.reason}\n`);
        io.out(`verified ${res.records} good records before it\n`);
      }
      done(res.ok ? 0 : 1);
    });

  const codec = program.command('codec').description('codec catalogue and bandwidth analysis');
  codec
    .command('analyze')
    .alias('analyse')
    .description('bandwidth table for an N-participant council (the twelve guardians of the brief, cycled)')
    .option('--participants <n>', 'number of participants', '12')
    .option('--topology <mcu|mesh>', 'mcu (FreeSWITCH mixes) or mesh', 'mcu')
    .option('--audio-codec <name>', 'audio codec for everyone', 'opus')
    .option('--video-bitrate <bps>', 'override the catalogue video payload rate')
    .option('--quota <bps>', 'per-caller quota to check against', '3000000')
    .option('--json', 'machine-readable output')
    .action(async (o: { participants: string; topology: string; audioCodec: string; videoBitrate?: string; quota: string; json?: boolean }) => {
      if (o.topology !== 'mcu' && o.topology !== 'mesh') throw new CliError('--topology must be mcu or mesh', 2);
      const res = analyseCouncil({
        participants: Number(o.participants),
        topology: o.topology,
        audioCodec: o.audioCodec,
        videoBitrateBps: o.videoBitrate !== undefined ? Number(o.videoBitrate) : undefined,
        quotaBps: Number(o.quota),
      });
      if (!res.ok) throw new CliError(res.error, 2);
      io.out(o.json ? `${JSON.stringify(res.analysis, null, 2)}\n` : `${councilMarkdown(res.analysis)}\n`);
      done(0);
    });
  codec
    .command('catalogue')
    .alias('catalog')
    .description('print the codec catalogue')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      io.out(o.json ? `${JSON.stringify(CATALOGUE.map((c) => ({ ...c, wireBps: wireBps(c) })), null, 2)}\n` : `${catalogueMarkdown()}\n`);
      done(0);
    });
}
