/** lib/calls: SIP <-> H.323 call flows (issue 6). */
export * from './causes.js';
export * from './sip-to-h323.js';
export * from './h323-to-sip.js';
export * from './dtmf.js';
