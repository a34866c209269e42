/**
 * @module sensor/zeek/tsv
 * Zeek's tab-separated log format: `#separator`, `#set_separator`, `#empty_field`, `#unset_field`,
 * `#path`, `#fields` and `#types` header lines, then one record per line. Headers may appear again
 * (rotated logs concatenated); each data line is typed by the latest `#types`.
 */
import {
  epochToIso,
  newRecord,
  normNumber,
  UNSAFE_KEYS,
  unescapeTsv,
  type ZeekRecord,
  type ZeekValue,
} from './values.js';

export type TsvLine =
  | { kind: 'record'; path: string; record: ZeekRecord }
  | { kind: 'header' }
  | { kind: 'skip'; reason: string };

const CONTAINER = /^(?:set|vector)\[(.+)\]$/;

/** How a cell's text becomes a value, by its Zeek type. */
enum Scalar {
  Text,
  Time,
  Integer,
  Fraction,
  Bool,
}
function scalarOf(type: string): Scalar {
  switch (type) {
    case 'time':
      return Scalar.Time;
    case 'count':
    case 'int':
    case 'port':
      return Scalar.Integer;
    case 'double':
    case 'interval':
      return Scalar.Fraction;
    case 'bool':
      return Scalar.Bool;
    default:
      return Scalar.Text;
  }
}

interface Column {
  scalar: Scalar;
  /** A set or vector of `scalar`s. */
  container: boolean;
  /** A plain `string` column, where the empty field means the empty string. */
  string: boolean;
}
const STRING_COLUMN: Column = { scalar: Scalar.Text, container: false, string: true };

export class ZeekTsvParser {
  #separator = '\t';
  #setSeparator = ',';
  #empty = '(empty)';
  #unset = '-';
  #path = '';
  #fields: string[] = [];
  /** Per column: a name that would reach the record's prototype (`__proto__`), so skipped. */
  #unsafe: boolean[] = [];
  #types: string[] = [];
  /** Per column, from `#types`: how its cells become values. */
  #columns: Column[] = [];

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
    const record = newRecord();
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (cell === this.#unset || this.#unsafe[i]) continue;
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
        this.#unsafe = this.#fields.map((name) => UNSAFE_KEYS.has(name));
        break;
      case 'types':
        this.#types = rest.split(this.#separator);
        this.#columns = this.#types.map((type) => {
          const container = CONTAINER.exec(type);
          return container
            ? { scalar: scalarOf(container[1]!), container: true, string: false }
            : { scalar: scalarOf(type), container: false, string: type === 'string' };
        });
        break;
    }
    return { kind: 'header' };
  }

  #value(cell: string, column: Column): ZeekValue | undefined {
    if (column.container) {
      if (cell === this.#empty) return [];
      const out: ZeekValue[] = [];
      for (const part of cell.split(this.#setSeparator)) {
        if (part === '') continue; // as the JSON reader does (see json.ts)
        const v = scalar(part, column.scalar);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    if (column.string && cell === this.#empty) return '';
    return scalar(cell, column.scalar);
  }
}

function scalar(cell: string, kind: Scalar): ZeekValue | undefined {
  switch (kind) {
    case Scalar.Text:
      return unescapeTsv(cell);
    case Scalar.Time:
      return epochToIso(cell);
    case Scalar.Integer: {
      const n = Number(cell);
      return Number.isFinite(n) ? n : undefined;
    }
    case Scalar.Fraction: {
      const n = Number(cell);
      return Number.isFinite(n) ? normNumber(n) : undefined;
    }
    case Scalar.Bool:
      return cell === 'T' ? true : cell === 'F' ? false : undefined;
  }
}
