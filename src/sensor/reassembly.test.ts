import { describe, expect, it } from 'vitest';
import { TcpFlag } from './decode.js';
import { type CloseReason, TcpReassembler, type TcpSegmentInput } from './reassembly.js';

function harness(
  opts: { maxBytesPerDirection?: number; maxConnections?: number; maxTotalBytes?: number } = {},
) {
  const got: string[][] = [];
  const closed: CloseReason[] = [];
  const r = new TcpReassembler({
    ...opts,
    idleTimeoutMs: 10_000,
    open: (conn) => {
      const streams = ['', ''];
      got.push(streams);
      void conn;
      return {
        data: (dir, bytes) => {
          streams[dir] += bytes.toString();
        },
        close: (reason) => closed.push(reason),
      };
    },
  });
  const seg = (over: Partial<TcpSegmentInput>): TcpSegmentInput => ({
    ts: 0,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 5000,
    dstPort: 104,
    seq: 0,
    flags: TcpFlag.ACK,
    payload: Buffer.alloc(0),
    wireLen: 60,
    ...over,
  });
  const back = { srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 104, dstPort: 5000 };
  return { r, got, closed, seg, back };
}

describe('TcpReassembler', () => {
  it('delivers both directions in order despite reordering, retransmission and overlap', () => {
    const { r, got, closed, seg, back } = harness();
    const isn = 0xfffffff0; // wraps during the stream
    r.segment(seg({ seq: isn, flags: TcpFlag.SYN }));
    r.segment(seg({ ...back, seq: 100, flags: TcpFlag.SYN | TcpFlag.ACK }));
    const base = (isn + 1) >>> 0;
    const at = (off: number, s: string) => seg({ seq: (base + off) >>> 0, payload: Buffer.from(s) });
    r.segment(at(10, 'KLMNO')); // out of order
    r.segment(at(0, 'ABCDE'));
    r.segment(at(0, 'ABCDE')); // retransmission
    r.segment(at(3, 'DEFGHIJ')); // overlaps delivered bytes and fills the gap
    r.segment(at(15, 'PQ'));
    r.segment(seg({ ...back, seq: 101, payload: Buffer.from('reply') }));
    expect(got).toEqual([['ABCDEFGHIJKLMNOPQ', 'reply']]);
    expect(r.retransmissions).toBe(1);
    r.segment(seg({ seq: (base + 17) >>> 0, flags: TcpFlag.FIN | TcpFlag.ACK }));
    expect(closed).toEqual([]);
    r.segment(seg({ ...back, seq: 106, flags: TcpFlag.FIN | TcpFlag.ACK }));
    expect(closed).toEqual(['fin']);
    expect(r.size).toBe(0);
    expect(r.bufferedBytes).toBe(0);
  });

  it('keeps only the first N bytes of each direction', () => {
    const { r, got, seg } = harness({ maxBytesPerDirection: 8 });
    r.segment(seg({ seq: 0, payload: Buffer.from('0123456') }));
    r.segment(seg({ seq: 7, payload: Buffer.from('789abc') }));
    r.segment(seg({ seq: 13, payload: Buffer.from('def') }));
    expect(got[0]![0]).toBe('01234567');
  });

  it('evicts the oldest connections past the connection limit, and closes idle ones', () => {
    const { r, closed, seg } = harness({ maxConnections: 2 });
    for (let i = 0; i < 5; i++) r.segment(seg({ srcPort: 6000 + i, payload: Buffer.from('x'), ts: i }));
    expect(r.size).toBe(2);
    expect(r.evictions).toBe(3);
    expect(closed).toEqual(['evicted', 'evicted', 'evicted']);
    r.segment(seg({ srcPort: 7000, payload: Buffer.from('y'), ts: 60_000 }));
    expect(closed.filter((c) => c === 'idle')).toHaveLength(2);
  });

  it('bounds the bytes buffered in total', () => {
    const { r, seg } = harness({ maxTotalBytes: 1000, maxBytesPerDirection: 400 });
    for (let i = 0; i < 50; i++) {
      r.segment(seg({ srcPort: 6000 + i, seq: 100, payload: Buffer.alloc(300) })); // a gap: waits
      r.segment(seg({ srcPort: 6000 + i, seq: 0, payload: Buffer.alloc(50) }));
      expect(r.bufferedBytes).toBeLessThanOrEqual(1000 + 400);
    }
    expect(r.evictions).toBeGreaterThan(40);
  });

  it('a RST ends the connection; pure ACKs of unknown connections open nothing', () => {
    const { r, closed, seg } = harness();
    r.segment(seg({ seq: 5 }));
    expect(r.size).toBe(0);
    r.segment(seg({ seq: 5, payload: Buffer.from('a') }));
    r.segment(seg({ seq: 6, flags: TcpFlag.RST }));
    expect(closed).toEqual(['rst']);
  });
});
