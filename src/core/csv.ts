/**
 * @module core/csv
 * An RFC 4180 CSV reader (staff-directory imports, the IEEE OUI registry, …): quoted fields, doubled quotes, line breaks
 * inside quotes, CRLF or LF line ends, a UTF-8 byte-order mark. It reads chunk by chunk and stops
 * as soon as a limit (bytes, records, fields, field length) is passed, so an oversized or hostile
 * upload never costs more memory than the limits allow.
 *
 * Why our own: the format is small, and an importer that must report "row 412, column email" and
 * refuse half-broken files needs exact control of record numbers and malformed-quote handling.
 */
import { VigilError } from './errors.js';

/** Limits of one CSV read; defaults fit a hospital of 100,000 staff. */
export interface CsvLimits {
  /** Bytes of input (default 16 MiB). */
  maxBytes: number;
  /** Records, header included (default 200,001). */
  maxRecords: number;
  /** Fields in one record (default 64). */
  maxFields: number;
  /** Characters in one field (default 4,096). */
  maxFieldLength: number;
}

export const DEFAULT_CSV_LIMITS: CsvLimits = {
  maxBytes: 16 * 1024 * 1024,
  maxRecords: 200_001,
  maxFields: 64,
  maxFieldLength: 4096,
};

/** One record, with its record number (1 = the first record, usually the header) and first line. */
export interface CsvRecord {
  row: number;
  line: number;
  fields: string[];
}

/** What a CSV import may be given: the text, its bytes, or a stream of chunks (an upload). */
export type CsvSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

function malformed(message: string, row: number, line: number): VigilError {
  return new VigilError('BAD_REQUEST', `CSV row ${row} (line ${line}): ${message}`, {
    details: { row, line, field: 'file' },
  });
}

type State = 'start' | 'unquoted' | 'quoted' | 'quoteInQuoted' | 'afterCr';

/**
 * A push parser: feed it text with {@link CsvParser.push}, collect complete records, and call
 * {@link CsvParser.end} at the end. Malformed input (a quote inside an unquoted field, text after
 * a closing quote, a quoted field never closed) throws a `BAD_REQUEST` naming the row and line:
 * after such an error the record boundaries are unknowable, so the whole file is refused.
 * Empty lines are skipped.
 */
export class CsvParser {
  #state: State = 'start';
  #field = '';
  #fields: string[] = [];
  #row = 1;
  #line = 1;
  #recordLine = 1;
  #first = true;
  #records = 0;

  constructor(private readonly limits: CsvLimits = DEFAULT_CSV_LIMITS) {}

  /** Parses a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = chunk;
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.#state === 'afterCr') {
        // A CR ended the record; a following LF belongs to it.
        this.#state = 'start';
        if (c === '\n') continue;
      }
      switch (this.#state) {
        case 'start':
          if (c === '"') this.#state = 'quoted';
          else if (c === ',') this.#endField();
          else if (c === '\r' || c === '\n') this.#endRecord(out, c);
          else {
            this.#append(c);
            this.#state = 'unquoted';
          }
          break;
        case 'unquoted':
          if (c === ',') {
            this.#endField();
            this.#state = 'start';
          } else if (c === '\r' || c === '\n') this.#endRecord(out, c);
          else if (c === '"')
            throw malformed(
              'a quote inside an unquoted field (quote the whole field)',
              this.#row,
              this.#line,
            );
          else this.#append(c);
          break;
        case 'quoted':
          if (c === '"') this.#state = 'quoteInQuoted';
          else {
            if (c === '\n') this.#line++;
            this.#append(c);
          }
          break;
        case 'quoteInQuoted':
          if (c === '"') {
            this.#append('"');
            this.#state = 'quoted';
          } else if (c === ',') {
            this.#endField();
            this.#state = 'start';
          } else if (c === '\r' || c === '\n') this.#endRecord(out, c);
          else throw malformed('text after a closing quote', this.#row, this.#line);
          break;
      }
    }
    return out;
  }

  /** Finishes the input; returns the last record if the text did not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.#state === 'quoted')
      throw malformed('a quoted field is never closed (truncated file?)', this.#row, this.#recordLine);
    if (this.#state === 'unquoted' || this.#state === 'quoteInQuoted' || this.#fields.length > 0) {
      this.#endRecord(out, '');
    }
    return out;
  }

  #append(c: string): void {
    this.#field += c;
    if (this.#field.length > this.limits.maxFieldLength) {
      throw malformed(
        `a field is longer than ${this.limits.maxFieldLength} characters`,
        this.#row,
        this.#line,
      );
    }
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = '';
    if (this.#fields.length > this.limits.maxFields) {
      throw malformed(`more than ${this.limits.maxFields} fields`, this.#row, this.#recordLine);
    }
  }

  #endRecord(out: CsvRecord[], terminator: string): void {
    this.#endField();
    const fields = this.#fields;
    this.#fields = [];
    this.#state = terminator === '\r' ? 'afterCr' : 'start';
    const blank = fields.length === 1 && fields[0] === '';
    if (!blank) {
      this.#records++;
      if (this.#records > this.limits.maxRecords) {
        throw new VigilError('PAYLOAD_TOO_LARGE', `CSV has more than ${this.limits.maxRecords} rows`, {
          details: { field: 'file' },
        });
      }
      out.push({ row: this.#row, line: this.#recordLine, fields });
      this.#row++;
    }
    if (terminator !== '') this.#line++;
    this.#recordLine = this.#line;
  }
}

/**
 * Reads every record of a source, enforcing the limits while reading: a stream is abandoned as
 * soon as it passes `maxBytes`. Bytes must be UTF-8 (invalid sequences are refused).
 */
export async function readCsv(source: CsvSource, limits: Partial<CsvLimits> = {}): Promise<CsvRecord[]> {
  const l = { ...DEFAULT_CSV_LIMITS, ...limits };
  const parser = new CsvParser(l);
  const records: CsvRecord[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  const tooLarge = () =>
    new VigilError('PAYLOAD_TOO_LARGE', `CSV file is larger than ${l.maxBytes} bytes`, {
      details: { field: 'file', maxBytes: l.maxBytes },
    });
  const decode = (chunk: Uint8Array, stream: boolean): string => {
    try {
      return decoder.decode(chunk, { stream });
    } catch {
      throw new VigilError('BAD_REQUEST', 'CSV file is not valid UTF-8', { details: { field: 'file' } });
    }
  };
  const feed = (chunk: Uint8Array | string) => {
    if (typeof chunk === 'string') {
      bytes += Buffer.byteLength(chunk, 'utf8');
      if (bytes > l.maxBytes) throw tooLarge();
      for (const r of parser.push(chunk)) records.push(r);
    } else {
      bytes += chunk.byteLength;
      if (bytes > l.maxBytes) throw tooLarge();
      for (const r of parser.push(decode(chunk, true))) records.push(r);
    }
  };
  if (typeof source === 'string' || source instanceof Uint8Array) feed(source);
  else for await (const chunk of source) feed(chunk);
  for (const r of parser.push(decode(new Uint8Array(0), false))) records.push(r);
  for (const r of parser.end()) records.push(r);
  return records;
}
