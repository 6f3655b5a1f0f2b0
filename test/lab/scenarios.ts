/** SIPp scenario templates filled in per test (SIPp cannot take a response code from a variable). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

/** Path of an INVITE scenario that passes only if the final response is `status`. */
export function inviteExpecting(status: number): string {
  const tmpl = readFileSync(join(repoRoot, 'sip-configs/sipp/gateway/invite-expect-status.xml.tmpl'), 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), 'sipp-scn-')), `invite-expect-${status}.xml`);
  writeFileSync(file, tmpl.replaceAll('@STATUS@', String(status)));
  return file;
}
