export { FileKeyRing } from './file-keyring.js';
export type { KeyRing } from './keyring.js';
