export * from './clock.js';
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export * from './roles.js';
export * from './random.js';
export * from './demo.js';
