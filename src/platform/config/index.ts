export { configEnvNames } from './env.js';
export { deepMerge, type LoadConfigOptions, loadConfig, redactConfig, validateConfig } from './load.js';
export { configSchema, SECRET_PATHS, type VigilConfig } from './schema.js';
