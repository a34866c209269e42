import { describe, expect, it } from 'vitest';
import { CsvParser, readCsv } from './csv.js';

const fields = async (text: string | Uint8Array) => (await readCsv(text)).map((r) => r.fields);

async function* chunks(text: string, size: number): AsyncIterable<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

describe('readCsv', () => {
  it('reads quotes, doubled quotes, embedded line breaks, CRLF, a BOM and a missing final newline', async () => {
    const text = '\uFEFFname,note\r\n"Smith, Ann","said ""hi""\r\nthen left"\r\nBob,\r\n,x';
    expect(await fields(text)).toEqual([
      ['name', 'note'],
      ['Smith, Ann', 'said "hi"\r\nthen left'],
      ['Bob', ''],
      ['', 'x'],
    ]);
  });

  it('gives the same records however the bytes are chunked, even inside a multi-byte character or CRLF', async () => {
    const text = '\uFEFFname,city\r\n"Zoë ""Z"" Ødegård","Malmö\r\nSkåne"\r\nLi,北京\r\n';
    const whole = await fields(text);
    for (const size of [1, 2, 3, 5, 7])
      expect((await readCsv(chunks(text, size))).map((r) => r.fields)).toEqual(whole);
    expect(whole[1]).toEqual(['Zoë "Z" Ødegård', 'Malmö\r\nSkåne']);
  });

  it('numbers records like a spreadsheet and remembers the line each starts on', async () => {
    const records = await readCsv('a,b\n"x\ny",1\n\n2,3\n');
    expect(records.map((r) => [r.row, r.line])).toEqual([
      [1, 1],
      [2, 2],
      [3, 5],
    ]);
  });

  it('accepts LF and lone CR line ends and skips blank lines', async () => {
    expect(await fields('a\nb\rc\r\n\r\n\nd')).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('refuses malformed quoting with the row and line', async () => {
    await expect(readCsv('a,b\nx,ab"c\n')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: { row: 2, line: 2 },
      message: expect.stringContaining('quote inside an unquoted field'),
    });
    await expect(readCsv('a,b\n"x"y,1\n')).rejects.toMatchObject({
      message: expect.stringContaining('text after a closing quote'),
    });
  });

  it('refuses a truncated file whose quoted field never closes', async () => {
    await expect(readCsv('a,b\n1,2\n3,"never closed\nmore')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: { row: 3, line: 3 },
      message: expect.stringContaining('never closed'),
    });
  });

  it('refuses invalid UTF-8', async () => {
    await expect(readCsv(new Uint8Array([0x61, 0x2c, 0xff, 0xfe, 0x0a]))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('UTF-8'),
    });
  });

  it('stops reading an oversized stream as soon as it passes the limit', async () => {
    let pulled = 0;
    async function* endless(): AsyncIterable<Uint8Array> {
      const line = new TextEncoder().encode('someone@hospital.example,Some One\n');
      for (;;) {
        pulled++;
        yield line;
      }
    }
    await expect(readCsv(endless(), { maxBytes: 10_000 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(pulled).toBeLessThan(400);
  });

  it('enforces field length, field count and record count limits', async () => {
    await expect(readCsv(`a\n${'x'.repeat(100)}`, { maxFieldLength: 50 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: { row: 2 },
    });
    await expect(readCsv(`a\n"${'x'.repeat(100)}"`, { maxFieldLength: 50 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(readCsv(`${'a,'.repeat(70)}a\n`, { maxFields: 64 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(readCsv('a\n1\n2\n3\n', { maxRecords: 3 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('keeps hostile values as plain data', async () => {
    const text = 'x\n"=HYPERLINK(""http://evil"")"\n"<script>alert(1)</script>"\n"a\u0000b"\n';
    expect(await fields(text)).toEqual([
      ['x'],
      ['=HYPERLINK("http://evil")'],
      ['<script>alert(1)</script>'],
      ['a\u0000b'],
    ]);
  });

  it('is a push parser: records come out as soon as they are complete', () => {
    const p = new CsvParser();
    expect(p.push('a,b\n1,')).toEqual([{ row: 1, line: 1, fields: ['a', 'b'] }]);
    expect(p.push('2')).toEqual([]);
    expect(p.end()).toEqual([{ row: 2, line: 2, fields: ['1', '2'] }]);
  });
});
