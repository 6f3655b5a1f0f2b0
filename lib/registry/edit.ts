/**
 * Pure edits on a registry document for the CLI. Each returns a new document validated with the
 * same rules as a load, so the CLI can never write a file the gateway would refuse.
 */
import type { EntryStatus, PublicKeyEntry, RegistryDocument, RegistryEntry } from './types.js';
import { parseRegistryDocument } from './validate.js';

export type EditResult = { ok: true; doc: RegistryDocument } | { ok: false; errors: string[] };

function revalidate(doc: RegistryDocument): EditResult {
  return parseRegistryDocument(JSON.parse(JSON.stringify(doc)) as unknown);
}

export function addEntry(doc: RegistryDocument, entry: RegistryEntry): EditResult {
  return revalidate({ version: 1, entries: [...doc.entries, entry] });
}

function update(doc: RegistryDocument, id: string, f: (e: RegistryEntry) => RegistryEntry): EditResult {
  if (!doc.entries.some((e) => e.id === id)) return { ok: false, errors: [`id: no entry ${id}`] };
  return revalidate({ version: 1, entries: doc.entries.map((e) => (e.id === id ? f(e) : e)) });
}

export function setStatus(doc: RegistryDocument, id: string, status: EntryStatus): EditResult {
  return update(doc, id, (e) => ({ ...e, status }));
}

/** Adds a new key; with retire, drops the entry's previous keys (a compromised key goes at once). */
export function rotateKey(doc: RegistryDocument, id: string, key: PublicKeyEntry, retire: boolean): EditResult {
  return update(doc, id, (e) => ({ ...e, keys: [...(retire ? [] : e.keys), key] }));
}
