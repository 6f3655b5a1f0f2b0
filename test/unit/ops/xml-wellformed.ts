/**
 * A strict XML 1.0 well-formedness check for the configs under sip-configs/ (no dependency, no
 * xmllint on the CI machine). It checks what breaks real parsers (FreeSWITCH's, drachtio's,
 * SIPp's): one root element, matching and properly nested tags, quoted and unique attributes,
 * no raw '<' or bad '&' in text or attribute values, closed comments / CDATA / processing
 * instructions, no '--' inside comments, a prolog only at the start. It does not validate
 * against a DTD or schema.
 */

export interface XmlProblem {
  line: number;
  message: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /^&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;

/** Returns the first problem found, or undefined when the document is well-formed. */
export function checkWellFormed(text: string): XmlProblem | undefined {
  let i = 0;
  const stack: string[] = [];
  let rootSeen = false;
  let rootClosed = false;
  const lineAt = (pos: number): number => text.slice(0, pos).split('\n').length;
  const fail = (pos: number, message: string): XmlProblem => ({ line: lineAt(pos), message });

  /** Checks character data (text or an attribute value) between from and to. */
  const chars = (from: number, to: number, inAttr: boolean): XmlProblem | undefined => {
    for (let k = from; k < to; k++) {
      const c = text[k];
      if (c === '<') return fail(k, `raw '<' in ${inAttr ? 'an attribute value' : 'text'}`);
      if (c === '&' && !ENTITY.test(text.slice(k, k + 12))) return fail(k, `'&' that does not start an entity reference`);
      if (!inAttr && c === ']' && text.startsWith(']]>', k)) return fail(k, "']]>' in text");
    }
    return undefined;
  };

  if (text.charCodeAt(0) === 0xfeff) i = 1;
  if (text.startsWith('<?xml', i)) {
    const end = text.indexOf('?>', i);
    if (end < 0) return fail(i, 'unclosed XML declaration');
    if (!/^<\?xml\s+version\s*=\s*["']1\.[0-9]["']/.test(text.slice(i, end))) return fail(i, 'XML declaration without a version');
    i = end + 2;
  }

  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? text.length : lt;
    if (stack.length === 0) {
      if (/\S/.test(text.slice(i, textEnd))) return fail(i, rootSeen ? 'text after the root element' : 'text before the root element');
    } else {
      const p = chars(i, textEnd, false);
      if (p) return p;
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return fail(i, 'unclosed comment');
      const body = text.slice(i + 4, end);
      if (body.includes('--') || body.endsWith('-')) return fail(i, "'--' inside a comment");
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) return fail(i, 'CDATA outside the root element');
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) return fail(i, 'unclosed CDATA section');
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!DOCTYPE', i)) {
      if (rootSeen) return fail(i, 'DOCTYPE after the root element');
      let k = i + 9;
      let depth = 0;
      for (; k < text.length; k++) {
        const c = text[k];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth === 0) break;
      }
      if (k >= text.length) return fail(i, 'unclosed DOCTYPE');
      i = k + 1;
      continue;
    }
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return fail(i, 'unclosed processing instruction');
      const target = NAME.exec(text.slice(i + 2))?.[0];
      if (!target) return fail(i, 'processing instruction without a target');
      if (target.toLowerCase() === 'xml') return fail(i, 'XML declaration not at the start of the document');
      i = end + 2;
      continue;
    }
    if (text.startsWith('</', i)) {
      const name = NAME.exec(text.slice(i + 2))?.[0];
      if (!name) return fail(i, 'end tag without a name');
      let k = i + 2 + name.length;
      while (/\s/.test(text[k] ?? '')) k++;
      if (text[k] !== '>') return fail(i, `malformed end tag </${name}>`);
      const open = stack.pop();
      if (open === undefined) return fail(i, `end tag </${name}> without a start tag`);
      if (open !== name) return fail(i, `end tag </${name}> closes <${open}>`);
      if (stack.length === 0) rootClosed = true;
      i = k + 1;
      continue;
    }
    // Start tag or empty-element tag.
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (!name) return fail(i, "'<' that starts no tag");
    if (stack.length === 0 && rootClosed) return fail(i, 'a second root element');
    let k = i + 1 + name.length;
    const attrs = new Set<string>();
    for (;;) {
      const ws = k;
      while (/\s/.test(text[k] ?? '')) k++;
      if (text.startsWith('/>', k)) {
        k += 2;
        if (stack.length === 0) rootClosed = true;
        rootSeen = true;
        break;
      }
      if (text[k] === '>') {
        k += 1;
        stack.push(name);
        rootSeen = true;
        break;
      }
      if (k >= text.length) return fail(i, `unclosed start tag <${name}>`);
      if (k === ws) return fail(k, `no space before an attribute in <${name}>`);
      const attr = NAME.exec(text.slice(k))?.[0];
      if (!attr) return fail(k, `malformed attribute in <${name}>`);
      if (attrs.has(attr)) return fail(k, `attribute ${attr} twice in <${name}>`);
      attrs.add(attr);
      k += attr.length;
      while (/\s/.test(text[k] ?? '')) k++;
      if (text[k] !== '=') return fail(k, `attribute ${attr} without a value in <${name}>`);
      k++;
      while (/\s/.test(text[k] ?? '')) k++;
      const q = text[k];
      if (q !== '"' && q !== "'") return fail(k, `unquoted value of ${attr} in <${name}>`);
      const end = text.indexOf(q, k + 1);
      if (end < 0) return fail(k, `unclosed value of ${attr} in <${name}>`);
      const p = chars(k + 1, end, true);
      if (p) return p;
      k = end + 1;
    }
    i = k;
  }
  if (stack.length) return fail(text.length, `unclosed element <${stack[stack.length - 1]}>`);
  if (!rootSeen) return fail(0, 'no root element');
  return undefined;
}
