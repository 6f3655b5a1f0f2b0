/** Errors the media layer raises, each with the SIP status a call should get. */

/** No FreeSWITCH connection: fail the call at once (503), never queue it. */
export class MediaUnavailableError extends Error {
  readonly sipStatus = 503;
  constructor(message = 'media server unavailable') {
    super(message);
    this.name = 'MediaUnavailableError';
  }
}

/** A council at its cap. */
export class ConferenceFullError extends Error {
  readonly sipStatus = 486;
  /** Q.850 cause for the H.323 side (17 user busy). */
  readonly q850Cause = 17;
  constructor(
    readonly conference: string,
    readonly maxMembers: number,
  ) {
    super(`conference full (${maxMembers} members)`);
    this.name = 'ConferenceFullError';
  }
}

/** The session was released while an operation was in flight. */
export class SessionReleasedError extends Error {
  readonly sipStatus = 503;
  constructor(readonly reason: string) {
    super(`media session released: ${reason}`);
    this.name = 'SessionReleasedError';
  }
}
