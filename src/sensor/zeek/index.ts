export { ZEEK_LOGS, zeekEvent } from './events.js';
export { type FollowNote, type FollowOptions, followZeek, ZEEK_FILE } from './follow.js';
export { parseZeekJsonLine } from './json.js';
export {
  logNameOf,
  MAX_ZEEK_LINE_BYTES,
  newZeekStats,
  readZeekBatches,
  readZeekFile,
  ZeekLineReader,
  type ZeekReadStats,
} from './read.js';
export { ZeekTsvParser } from './tsv.js';
export type { ZeekRecord, ZeekValue } from './values.js';
