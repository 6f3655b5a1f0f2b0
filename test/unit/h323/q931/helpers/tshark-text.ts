/**
 * Reads the TPKT and Q.931 parts of `tshark -V` text, so tests compare our decode with
 * Wireshark's (an independent implementation) field by field.
 */

export interface TsharkField {
  readonly name: string;
  readonly value: string;
}

export interface TsharkIe {
  /** First line of the IE subtree, e.g. "Display  'ep1001\000'" or "Cause". */
  readonly title: string;
  readonly fields: TsharkField[];
}

export interface TsharkQ931 {
  readonly fields: TsharkField[];
  readonly ies: TsharkIe[];
}

export interface TsharkTpkt {
  readonly length: number;
  /** The Q.931 section right after this TPKT header, if tshark dissected one. */
  q931?: TsharkQ931;
  /** Names of the other top-level sections that followed (e.g. "H.225.0 CS", "H.245"). */
  readonly others: string[];
}

export interface TsharkFrame {
  readonly number: number;
  readonly tpkt: TsharkTpkt[];
  /** Every line of the frame, for malformed/expert checks. */
  readonly lines: string[];
}

const fieldRe = /^\s*(?:[.01 ]+ = )?([^:]+?): (.*)$/;

function parseField(line: string): TsharkField | undefined {
  const m = fieldRe.exec(line);
  return m ? { name: m[1]!.trim(), value: m[2]!.trim() } : undefined;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function parseQ931(lines: string[]): TsharkQ931 {
  const fields: TsharkField[] = [];
  const ies: TsharkIe[] = [];
  let current: TsharkIe | undefined;
  for (const line of lines) {
    if (line.trim() === '' || line.trim().startsWith('[')) continue;
    const ind = indentOf(line);
    if (ind === 4) {
      const f = parseField(line);
      // Top-level lines with "name: value" are header fields; the others open an IE subtree.
      if (f && /^(Protocol discriminator|Call reference|Message type)/.test(f.name)) {
        fields.push(f);
        current = undefined;
      } else {
        current = { title: line.trim(), fields: [] };
        ies.push(current);
      }
    } else if (ind > 4 && current) {
      const f = parseField(line);
      if (f) current.fields.push(f);
    }
  }
  return { fields, ies };
}

export function parseTsharkFrames(text: string): TsharkFrame[] {
  const frames: TsharkFrame[] = [];
  const chunks = text.split(/^(?=Frame \d+: )/m).filter((c) => c.startsWith('Frame '));
  for (const chunk of chunks) {
    const lines = chunk.split('\n');
    const number = Number(/^Frame (\d+)/.exec(lines[0]!)![1]);
    const tpkt: TsharkTpkt[] = [];
    let section: { title: string; body: string[] } | undefined;
    const flush = (): void => {
      if (!section) return;
      const t = /^TPKT, Version: 3, Length: (\d+)/.exec(section.title);
      if (t) tpkt.push({ length: Number(t[1]), others: [] });
      else if (section.title === 'Q.931' && tpkt.length > 0 && !tpkt[tpkt.length - 1]!.q931) {
        tpkt[tpkt.length - 1]!.q931 = parseQ931(section.body);
      } else if (tpkt.length > 0) tpkt[tpkt.length - 1]!.others.push(section.title);
    };
    for (const line of lines.slice(1)) {
      if (line.length > 0 && indentOf(line) === 0) {
        flush();
        section = { title: line.trim(), body: [] };
      } else if (section) section.body.push(line);
    }
    flush();
    frames.push({ number, tpkt, lines });
  }
  return frames;
}

/** Value of the first field with this name. */
export function field(fields: readonly TsharkField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** The number in the trailing "(N)" or "(0xNN)" of a tshark value, e.g. "Speech (0x00)" -> 0. */
export function trailingNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /\((0x[0-9a-f]+|\d+)\)\s*$/i.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** The identifier tshark names for an IE subtree. */
export function ieName(ie: TsharkIe): string {
  return field(ie.fields, 'Information element') ?? field(ie.fields, 'Type')?.replace(/\s*\(0x[0-9a-f]+\)$/i, '') ?? ie.title;
}
