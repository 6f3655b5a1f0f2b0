/** A configuration problem, always naming the field (dotted path) and what is wrong with it. */
export class ConfigError extends Error {
  /**
   * @param syntax the file itself could not be read or parsed (no field was looked at); an admin
   *   client gets 400 for that, 422 for a readable file with bad fields.
   */
  constructor(
    readonly problems: ReadonlyArray<{ field: string; problem: string }>,
    readonly syntax = false,
  ) {
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
