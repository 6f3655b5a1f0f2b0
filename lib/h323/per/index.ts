/** Aligned PER (X.691) codec: schemas as TypeScript data, typed encode/decode. */
export * from './schema.js';
export { encode } from './encode.js';
export { decode, type DecodeOptions } from './decode.js';
export { PerDecodeError, PerEncodeError } from './errors.js';
export { extensionInfo, type ExtensionInfo } from './common.js';
