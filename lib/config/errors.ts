/** A configuration problem, always naming the field (dotted path) and what is wrong with it. */
export class ConfigError extends Error {
  constructor(readonly problems: ReadonlyArray<{ field: string; problem: string }>) {
    super(
      'invalid configuration: ' + problems.map((p) => `${p.field}: ${p.problem}`).join('; '),
    );
    this.name = 'ConfigError';
  }
}
