export * from './types.js';
export * from './credentials.js';
export * from './validate.js';
export * from './store.js';
export * from './edit.js';
