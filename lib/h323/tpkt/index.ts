export * from './framing.js';
export * from './channel.js';
export { tpktMetrics, type TpktMetrics } from './metrics.js';
