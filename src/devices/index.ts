/**
 * @module devices
 * The medical-device inventory's public face. So far: MAC vendor identity from the IEEE registry.
 */
export { DEFAULT_IEEE_DATA_DIR, type MacKind, normaliseMac, OuiRegistry, type VendorLookup } from './oui.js';
