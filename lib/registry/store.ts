/**
 * Registry backed by one JSON file. Loaded and validated as a whole; reload() swaps in a new
 * file only when it validates, otherwise the running registry keeps the old contents and the
 * errors are returned (and logged without the file's contents).
 */
import { readFile, writeFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { KeyLookup, RegistryDocument, RegistryEntry, RegistryReader } from './types.js';
import { parseRegistryDocument } from './validate.js';
import { componentLogger } from '../log/logger.js';

/** In-memory index over a document already validated by parseRegistryDocument (it does not re-check). */
export class DocumentRegistry implements RegistryReader {
  private byIdMap = new Map<string, RegistryEntry>();
  private byUser = new Map<string, RegistryEntry>();
  private byKid = new Map<string, KeyLookup>();
  protected doc: RegistryDocument = { version: 1, entries: [] };

  constructor(doc?: RegistryDocument) {
    if (doc) this.index(doc);
  }

  protected index(doc: RegistryDocument): void {
    const byId = new Map<string, RegistryEntry>();
    const byUser = new Map<string, RegistryEntry>();
    const byKid = new Map<string, KeyLookup>();
    for (const entry of doc.entries) {
      byId.set(entry.id, entry);
      byUser.set(entry.sip.username.toLowerCase(), entry);
      for (const key of entry.keys) byKid.set(key.kid, { entry, key });
    }
    // Swap all maps at once so lookups never see half of an old and half of a new file.
    this.doc = doc;
    this.byIdMap = byId;
    this.byUser = byUser;
    this.byKid = byKid;
  }

  document(): RegistryDocument {
    return this.doc;
  }
  async byId(id: string): Promise<RegistryEntry | undefined> {
    return this.byIdMap.get(id);
  }
  async byUsername(username: string): Promise<RegistryEntry | undefined> {
    return this.byUser.get(username.toLowerCase());
  }
  async byKeyId(kid: string): Promise<KeyLookup | undefined> {
    return this.byKid.get(kid);
  }
  async list(): Promise<RegistryEntry[]> {
    return [...this.doc.entries];
  }
}

export type LoadResult = { ok: true; entries: number } | { ok: false; errors: string[] };

/** Reads and validates a registry file; never throws. */
export async function readRegistryFile(path: string): Promise<{ ok: true; doc: RegistryDocument } | { ok: false; errors: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`(file): cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [`(file): not valid JSON: ${(err as Error).message}`] };
  }
  return parseRegistryDocument(json);
}

/** Writes atomically (temp file + rename) with mode 0600: HA1 values are password-equivalent. */
export async function writeRegistryFile(path: string, doc: RegistryDocument): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export class FileRegistry extends DocumentRegistry {
  private readonly log = componentLogger('registry');
  private constructor(readonly path: string) {
    super();
  }

  /** Loads the file; refuses to start on an invalid one. */
  static async load(path: string): Promise<{ ok: true; registry: FileRegistry } | { ok: false; errors: string[] }> {
    const reg = new FileRegistry(path);
    const res = await reg.reload();
    return res.ok ? { ok: true, registry: reg } : res;
  }

  /** Re-reads the file; on any error the current contents stay in force. */
  async reload(): Promise<LoadResult> {
    const res = await readRegistryFile(this.path);
    if (!res.ok) {
      // Only the field path goes to the log: JSON parser messages quote file content.
      this.log.warn('registry reload refused; keeping previous contents', { errors: res.errors.length, firstField: res.errors[0]?.split(':')[0] });
      return res;
    }
    this.index(res.doc);
    this.log.info('registry loaded', { entries: res.doc.entries.length });
    return { ok: true, entries: res.doc.entries.length };
  }
}
