/** lib/media: the drachtio-fsmrf 4.1.x adapter (see docs/media.md). */
export { MediaController, type MediaControllerOptions, type MediaState } from './controller.js';
export { MediaSession, type CallerLeg, type H323Leg } from './session.js';
export { Council, type CouncilMember, type CouncilOptions, type JoinOptions } from './conference.js';
export { validateMediaConfig, MediaConfigError, type MediaConfig } from './config.js';
export { MediaUnavailableError, ConferenceFullError, SessionReleasedError } from './errors.js';
export { mediaMetrics, type MediaMetrics, type LegType } from './metrics.js';
export { parseHangupQuality, parseRtcpReports, type HangupQuality, type RtcpReport } from './quality.js';
export { remoteOffer, type RemoteMedia, type H323Codec } from './sdp.js';
export { backoffDelay } from './backoff.js';
