export * from './record.js';
export * from './sink.js';
export * from './verify.js';
export * from './log.js';
export * from './metrics.js';
export * from './monitor.js';
export * from './aggregate.js';
