/**
 * The two ways a rule can fail to load. They are kept apart because they mean different things
 * to an operator: an invalid rule must be fixed by its author (file and line), an unsupported
 * rule is valid Sigma that this engine refuses to run rather than silently never match.
 */

/** The document is not valid Sigma: bad YAML or a structure the specification forbids. */
export class SigmaSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'SigmaSyntaxError';
  }
}

/** Valid Sigma that this engine cannot run faithfully (the reason is reported per rule). */
export class SigmaUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigmaUnsupportedError';
  }
}
