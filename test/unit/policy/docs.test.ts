import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { catalogueMarkdown } from '../../../apps/cli/audit-codec.js';
import { analyseCouncil, councilMarkdown } from '../../../lib/sdp/council.js';

describe('policy/docs: docs/codecs.md is generated from the code', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/codecs.md', import.meta.url)), 'utf8');
  it('holds the current catalogue table', () => {
    expect(doc).to.include(catalogueMarkdown());
  });
  it('holds the current 12-guardian analysis', () => {
    const r = analyseCouncil({ participants: 12 });
    if (!r.ok) throw new Error(r.error);
    expect(doc).to.include(councilMarkdown(r.analysis));
  });
});
