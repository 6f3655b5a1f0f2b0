/** H.245 MultimediaSystemControlMessage schema, codec and builders. */
export * from './schema.js';
export * from './codec.js';
export * from './messages.js';
