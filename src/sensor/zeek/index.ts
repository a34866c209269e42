export { ZEEK_LOGS, zeekEvent } from './events.js';
export { parseZeekJsonLine } from './json.js';
export {
  logNameOf,
  MAX_ZEEK_LINE_BYTES,
  newZeekStats,
  readZeekFile,
  readZeekStream,
  type ZeekReadStats,
} from './read.js';
export { ZeekTsvParser } from './tsv.js';
export type { ZeekRecord, ZeekValue } from './values.js';
