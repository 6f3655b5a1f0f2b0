/**
 * Errors raised by the PER codec. Decoding untrusted input throws PerDecodeError only (never a
 * RangeError or TypeError from deep inside), so socket handlers can catch one class, count the
 * packet as malformed and drop it.
 */
export class PerDecodeError extends Error {
  constructor(message: string, readonly path: string = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'PerDecodeError';
  }
}

/** The value handed to the encoder does not fit its schema (a programming or config error). */
export class PerEncodeError extends Error {
  constructor(message: string, readonly path: string = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'PerEncodeError';
  }
}
