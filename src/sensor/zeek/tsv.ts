/**
 * @module sensor/zeek/tsv
 * Zeek's tab-separated log format: `#separator`, `#set_separator`, `#empty_field`, `#unset_field`,
 * `#path`, `#fields` and `#types` header lines, then one record per line. Headers may appear again
 * (rotated logs concatenated); each data line is typed by the latest `#types`.
 */
import { epochToIso, normNumber, unescapeTsv, type ZeekRecord, type ZeekValue } from './values.js';

export type TsvLine =
  | { kind: 'record'; path: string; record: ZeekRecord }
  | { kind: 'header' }
  | { kind: 'skip'; reason: string };

const CONTAINER = /^(?:set|vector)\[(.+)\]$/;
const STRING_COLUMN = { type: 'string', container: false };

export class ZeekTsvParser {
  #separator = '\t';
  #setSeparator = ',';
  #empty = '(empty)';
  #unset = '-';
  #path = '';
  #fields: string[] = [];
  #types: string[] = [];
  /** Per column, from `#types`: the element type and whether the value is a set or vector. */
  #columns: Array<{ type: string; container: boolean }> = [];

  constructor(defaultPath = '') {
    this.#path = defaultPath;
  }

  get path(): string {
    return this.#path;
  }

  line(line: string): TsvLine {
    if (line.startsWith('#')) return this.#header(line);
    if (line.length === 0) return { kind: 'skip', reason: 'empty-line' };
    if (this.#fields.length === 0) return { kind: 'skip', reason: 'record-before-fields-header' };
    const cells = line.split(this.#separator);
    if (cells.length !== this.#fields.length) return { kind: 'skip', reason: 'wrong-field-count' };
    const record: ZeekRecord = {};
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (cell === this.#unset) continue;
      const value = this.#value(cell, this.#columns[i] ?? STRING_COLUMN);
      if (value === undefined) return { kind: 'skip', reason: `bad-${this.#types[i] ?? 'value'}` };
      record[this.#fields[i]!] = value;
    }
    return { kind: 'record', path: this.#path, record };
  }

  #header(line: string): TsvLine {
    const sep = line.startsWith('#separator') ? ' ' : this.#separator;
    const at = line.indexOf(sep);
    const key = at === -1 ? line.slice(1) : line.slice(1, at);
    const rest = at === -1 ? '' : line.slice(at + 1);
    switch (key) {
      case 'separator':
        this.#separator = unescapeTsv(rest.trim()) || '\t';
        break;
      case 'set_separator':
        this.#setSeparator = unescapeTsv(rest) || ',';
        break;
      case 'empty_field':
        this.#empty = rest;
        break;
      case 'unset_field':
        this.#unset = rest;
        break;
      case 'path':
        this.#path = rest;
        break;
      case 'fields':
        this.#fields = rest.split(this.#separator);
        break;
      case 'types':
        this.#types = rest.split(this.#separator);
        this.#columns = this.#types.map((type) => {
          const container = CONTAINER.exec(type);
          return container ? { type: container[1]!, container: true } : { type, container: false };
        });
        break;
    }
    return { kind: 'header' };
  }

  #value(cell: string, column: { type: string; container: boolean }): ZeekValue | undefined {
    if (column.container) {
      if (cell === this.#empty) return [];
      const out: ZeekValue[] = [];
      for (const part of cell.split(this.#setSeparator)) {
        if (part === '') continue; // as the JSON reader does (see json.ts)
        const v = this.#scalar(part, column.type);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    if (cell === this.#empty && column.type === 'string') return '';
    return this.#scalar(cell, column.type);
  }

  #scalar(cell: string, type: string): ZeekValue | undefined {
    switch (type) {
      case 'time':
        return epochToIso(cell);
      case 'count':
      case 'int':
      case 'port': {
        const n = Number(cell);
        return Number.isFinite(n) ? n : undefined;
      }
      case 'double':
      case 'interval': {
        const n = Number(cell);
        return Number.isFinite(n) ? normNumber(n) : undefined;
      }
      case 'bool':
        return cell === 'T' ? true : cell === 'F' ? false : undefined;
      default:
        return unescapeTsv(cell);
    }
  }
}
