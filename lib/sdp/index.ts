export * from './catalogue.js';
export * from './parse.js';
export * from './filter.js';
export * from './bandwidth.js';
export * from './selector.js';
export * from './council.js';
export * from './edit.js';
export * from './scan.js';
