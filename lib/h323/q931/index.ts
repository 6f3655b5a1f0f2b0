export * from './result.js';
export * from './constants.js';
export * from './cause.js';
export * from './ie.js';
export * from './message.js';
export * from './build.js';
export * from './user-user.js';
export * from './channel.js';
