/**
 * Errors raised by the PER codec. Decoding untrusted input throws PerDecodeError only (never a
 * RangeError or TypeError from deep inside), so socket handlers can catch one class, count the
 * packet as malformed and drop it.
 */
export class PerDecodeError extends Error {
  private readonly detail: string;
  /** Where in the value the problem is, e.g. "locationRequest.destinationInfo[0]". */
  path: string;

  constructor(message: string, path = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'PerDecodeError';
    this.detail = message;
    this.path = path;
  }

  /** Called while the error unwinds, so the hot path never builds path strings. */
  within(segment: string): this {
    this.path = this.path ? (this.path.startsWith('[') ? `${segment}${this.path}` : `${segment}.${this.path}`) : segment;
    this.message = `${this.path}: ${this.detail}`;
    return this;
  }
}

/** The value handed to the encoder does not fit its schema (a programming or config error). */
export class PerEncodeError extends Error {
  private readonly detail: string;
  path: string;

  constructor(message: string, path = '') {
    super(path ? `${path}: ${message}` : message);
    this.name = 'PerEncodeError';
    this.detail = message;
    this.path = path;
  }

  within(segment: string): this {
    this.path = this.path ? (this.path.startsWith('[') ? `${segment}${this.path}` : `${segment}.${this.path}`) : segment;
    this.message = `${this.path}: ${this.detail}`;
    return this;
  }
}
