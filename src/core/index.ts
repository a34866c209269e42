export * from './clock.js';
export * from './csv.js';
export * from './demo.js';
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export * from './random.js';
export * from './roles.js';
