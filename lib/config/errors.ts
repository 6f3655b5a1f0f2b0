/** A configuration problem, always naming the field (dotted path) and what is wrong with it. */
export class ConfigError extends Error {
  constructor(readonly problems: ReadonlyArray<{ field: string; problem: string }>) {
    super(
      'invalid configuration: ' + problems.map((p) => `${p.field}: ${p.problem}`).join('; '),
    );
    this.name = 'ConfigError';
  }
}

/** A bad value at one field path; config sections validated throw-first (h323, media) use it. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'FieldError';
  }
}
