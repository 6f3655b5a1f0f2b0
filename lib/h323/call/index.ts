export * from './call.js';
export * from './dialer.js';
export * from './listener.js';
export * from './h245-session.js';
export * from './socket-options.js';
export * from './faststart.js';
export * from './setup-aliases.js';
export { callMetrics, type CallMetrics } from './metrics.js';
