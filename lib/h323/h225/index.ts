/** H.225.0 call signalling PDUs (UUIEs) over Q.931. */
export * from './schema.js';
export * from './codec.js';
export * from './build.js';
export * from './caller-identity.js';
