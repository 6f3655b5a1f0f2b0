/**
 * ASN.1 types as TypeScript data. A schema value describes one ASN.1 type closely enough for the
 * aligned PER codec (X.691) and carries the TypeScript type of its decoded value as a phantom
 * (`ValueOf<typeof X>`), so the codec returns typed results without hand-written casts.
 *
 * Value mapping: NULL -> null, BOOLEAN -> boolean, INTEGER -> number, ENUMERATED -> name,
 * OCTET STRING -> Uint8Array, BIT STRING -> BitString, character strings -> string,
 * OBJECT IDENTIFIER -> dotted string, SEQUENCE -> object (absent OPTIONAL and extension
 * additions are undefined), SEQUENCE OF -> array, CHOICE -> { choice, value }.
 */

/** Phantom carrier of the decoded value type; never present at runtime. */
export interface Typed<T> {
  readonly __t?: T;
}

/** A SIZE constraint: min..max (max undefined = unbounded), optionally extensible ("...", X.691 ext bit). */
export interface SizeRange {
  readonly min: number;
  readonly max?: number;
  readonly extensible?: boolean;
}

/** BIT STRING value: `length` bits, most significant bit of bytes[0] first. */
export interface BitString {
  readonly length: number;
  readonly bytes: Uint8Array;
}

/** An ENUMERATED extension value this schema does not know (kept so it re-encodes). */
export type UnknownEnumerated = `$ext:${number}`;

/** A CHOICE extension alternative this schema does not know: its open-type bytes as received. */
export interface UnknownAlternative {
  readonly choice: '$unknown';
  readonly index: number;
  readonly value: Uint8Array;
}

export interface NullSchema extends Typed<null> {
  readonly kind: 'null';
}
export interface BooleanSchema extends Typed<boolean> {
  readonly kind: 'boolean';
}
export interface IntegerSchema extends Typed<number> {
  readonly kind: 'integer';
  readonly min?: number;
  readonly max?: number;
  /** INTEGER (a..b, ...): values outside the root range are encoded unconstrained after an ext bit. */
  readonly extensible?: boolean;
}
export interface EnumeratedSchema<E extends string = string> extends Typed<E | UnknownEnumerated> {
  readonly kind: 'enumerated';
  readonly root: readonly string[];
  readonly ext: readonly string[];
  readonly extensible: boolean;
}
export interface OctetStringSchema extends Typed<Uint8Array> {
  readonly kind: 'octetString';
  readonly size?: SizeRange;
}
export interface BitStringSchema extends Typed<BitString> {
  readonly kind: 'bitString';
  readonly size?: SizeRange;
}
export type CharSet = 'IA5' | 'Numeric' | 'Printable' | 'Visible' | 'BMP';
export interface CharStringSchema extends Typed<string> {
  readonly kind: 'charString';
  readonly charset: CharSet;
  readonly size?: SizeRange;
  /** Permitted alphabet constraint, FROM("..."). */
  readonly alphabet?: string;
}
export interface ObjectIdentifierSchema extends Typed<string> {
  readonly kind: 'oid';
}
export interface SequenceOfSchema<T = unknown> extends Typed<T[]> {
  readonly kind: 'sequenceOf';
  readonly item: AnySchema;
  readonly size?: SizeRange;
}
export interface FieldDef {
  readonly name: string;
  readonly schema: AnySchema;
  readonly optional: boolean;
}
export interface SequenceSchema<T = unknown> extends Typed<T> {
  readonly kind: 'sequence';
  readonly root: readonly FieldDef[];
  /** Extension additions, in order; all are optional in the decoded value. */
  readonly ext: readonly FieldDef[];
  readonly extensible: boolean;
}
export interface AltDef {
  readonly name: string;
  readonly schema: AnySchema;
}
export interface ChoiceSchema<T = unknown> extends Typed<T> {
  readonly kind: 'choice';
  readonly root: readonly AltDef[];
  readonly ext: readonly AltDef[];
  readonly extensible: boolean;
}
/** Late-bound reference, for recursive types (GenericData -> Content -> GenericData). */
export interface RefSchema<T = unknown> extends Typed<T> {
  readonly kind: 'ref';
  readonly resolve: () => AnySchema;
}
/**
 * A type we do not model (H.235 tokens, H.245 QOSCapability...). Only valid where the encoding
 * is an open type (extension additions and extension alternatives): the bytes are kept as
 * received and written back unchanged. Anywhere else decoding fails with a clear error.
 */
export interface OpaqueSchema extends Typed<Uint8Array> {
  readonly kind: 'opaque';
  readonly label: string;
}

export type AnySchema =
  | NullSchema
  | BooleanSchema
  | IntegerSchema
  | EnumeratedSchema
  | OctetStringSchema
  | BitStringSchema
  | CharStringSchema
  | ObjectIdentifierSchema
  | SequenceOfSchema
  | SequenceSchema
  | ChoiceSchema
  | RefSchema
  | OpaqueSchema;

/** A schema whose decoded values have type T. */
export type Schema<T> = AnySchema & Typed<T>;

/** The decoded-value type of a schema. */
export type ValueOf<S> = S extends Typed<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Builders

export interface OptionalSpec<S extends AnySchema = AnySchema> {
  readonly optional: true;
  readonly schema: S;
}
export type FieldSpec = AnySchema | OptionalSpec;
export type Fields = { readonly [name: string]: FieldSpec };
export type Alternatives = { readonly [name: string]: AnySchema };

type SpecValue<F> = F extends OptionalSpec<infer S> ? ValueOf<S> : ValueOf<F>;
type RequiredPart<F> = { -readonly [K in keyof F as F[K] extends OptionalSpec ? never : K]: SpecValue<F[K]> };
type OptionalPart<F> = { -readonly [K in keyof F as F[K] extends OptionalSpec ? K : never]?: SpecValue<F[K]> };
type ExtensionPart<F> = string extends keyof F ? {} : { -readonly [K in keyof F]?: SpecValue<F[K]> };
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type SequenceValue<R, E = {}> = Simplify<RequiredPart<R> & OptionalPart<R> & ExtensionPart<E>>;
export type ChoiceValue<A> = string extends keyof A ? never : { [K in keyof A & string]: { choice: K; value: ValueOf<A[K]> } }[keyof A & string];

export const NULL: NullSchema = { kind: 'null' };
export const BOOLEAN: BooleanSchema = { kind: 'boolean' };
export const OID: ObjectIdentifierSchema = { kind: 'oid' };

export function opt<S extends AnySchema>(schema: S): OptionalSpec<S> {
  return { optional: true, schema };
}

export function integer(min?: number, max?: number, extensible = false): IntegerSchema {
  const s: { kind: 'integer'; min?: number; max?: number; extensible?: boolean } = { kind: 'integer' };
  if (min !== undefined) s.min = min;
  if (max !== undefined) s.max = max;
  if (extensible) s.extensible = true;
  return s;
}

export function enumerated<const R extends readonly string[], const E extends readonly string[] = []>(
  root: R,
  ext?: E,
): EnumeratedSchema<R[number] | E[number]> {
  return { kind: 'enumerated', root, ext: ext ?? [], extensible: ext !== undefined };
}

export function octetString(size?: SizeRange): OctetStringSchema {
  return size ? { kind: 'octetString', size } : { kind: 'octetString' };
}

export function bitString(size?: SizeRange): BitStringSchema {
  return size ? { kind: 'bitString', size } : { kind: 'bitString' };
}

export function charString(charset: CharSet, size?: SizeRange, alphabet?: string): CharStringSchema {
  const s: { kind: 'charString'; charset: CharSet; size?: SizeRange; alphabet?: string } = { kind: 'charString', charset };
  if (size) s.size = size;
  if (alphabet !== undefined) s.alphabet = alphabet;
  return s;
}

export function size(min: number, max: number | undefined = min, extensible = false): SizeRange {
  const s: { min: number; max?: number; extensible?: boolean } = { min };
  if (max !== undefined) s.max = max;
  if (extensible) s.extensible = true;
  return s;
}

export function sequenceOf<S extends AnySchema>(item: S, sizeRange?: SizeRange): SequenceOfSchema<ValueOf<S>> {
  return sizeRange ? { kind: 'sequenceOf', item, size: sizeRange } : { kind: 'sequenceOf', item };
}

function fieldDefs(fields: Fields): FieldDef[] {
  return Object.entries(fields).map(([name, spec]) =>
    'kind' in spec ? { name, schema: spec, optional: false } : { name, schema: spec.schema, optional: true },
  );
}

/** SEQUENCE { ... } without an extension marker. */
export function sequence<const R extends Fields>(root: R): SequenceSchema<SequenceValue<R>> {
  return { kind: 'sequence', root: fieldDefs(root), ext: [], extensible: false };
}

/** SEQUENCE { root..., ..., ext... } (extension additions are open types, optional when decoded). */
export function extSequence<const R extends Fields, const E extends Fields = {}>(root: R, ext?: E): SequenceSchema<SequenceValue<R, E>> {
  return { kind: 'sequence', root: fieldDefs(root), ext: fieldDefs(ext ?? {}), extensible: true };
}

function altDefs(alts: Alternatives): AltDef[] {
  return Object.entries(alts).map(([name, schema]) => ({ name, schema }));
}

export function choice<const A extends Alternatives>(root: A): ChoiceSchema<ChoiceValue<A>> {
  return { kind: 'choice', root: altDefs(root), ext: [], extensible: false };
}

export function extChoice<const A extends Alternatives, const E extends Alternatives = {}>(
  root: A,
  ext?: E,
): ChoiceSchema<ChoiceValue<A> | ChoiceValue<E> | UnknownAlternative> {
  return { kind: 'choice', root: altDefs(root), ext: altDefs(ext ?? {}), extensible: true };
}

export function ref<T>(resolve: () => AnySchema): RefSchema<T> {
  return { kind: 'ref', resolve };
}

export function opaque(label: string): OpaqueSchema {
  return { kind: 'opaque', label };
}
