import { describe, expect, it } from 'vitest';
import { LinkType } from './capture-types.js';
import { tcpFrame, udpFrame } from './capture-writer.js';
import { type DecodedPacket, decodePacket, TcpFlag } from './decode.js';
import { formatIpv6 } from './ip.js';

const addr = {
  srcMac: '02:00:00:00:00:01',
  dstMac: '02:00:00:00:00:02',
  src: '10.0.0.1',
  dst: '10.0.0.2',
  srcPort: 1234,
  dstPort: 104,
};

function ok(p: DecodedPacket | string): DecodedPacket {
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** An IPv6 packet with the given extension headers before a UDP header. */
function ipv6(exts: { type: number; body: Buffer }[], payload: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(5353, 0);
  udp.writeUInt16BE(53, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  const chain: Buffer[] = [];
  exts.forEach((e, i) => {
    const b = Buffer.concat([Buffer.from([exts[i + 1]?.type ?? 17, 0]), e.body]);
    if (e.type !== 44) b[1] = b.length / 8 - 1;
    chain.push(b);
  });
  const body = Buffer.concat([...chain, udp]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = exts[0]?.type ?? 17;
  h[7] = 64;
  Buffer.from('fe800000000000000000000000000001', 'hex').copy(h, 8);
  Buffer.from('20010db8000000000001000000000002', 'hex').copy(h, 24);
  return Buffer.concat([h, body]);
}

describe('decodePacket', () => {
  it('Ethernet / IPv4 / TCP, trimming Ethernet padding', () => {
    const f = tcpFrame(addr, {
      seq: 7,
      ack: 9,
      flags: TcpFlag.SYN | TcpFlag.ACK,
      payload: Buffer.from('hi'),
    });
    const padded = Buffer.concat([f, Buffer.alloc(10)]);
    const p = ok(decodePacket(LinkType.Ethernet, padded));
    expect(p).toMatchObject({
      srcMac: addr.srcMac,
      srcPort: 1234,
      dstPort: 104,
      seq: 7,
      ack: 9,
      flags: 0x12,
    });
    expect(p.ip).toMatchObject({ version: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, truncated: false });
    expect(p.payload.toString()).toBe('hi');
  });

  it('stacked 802.1ad + 802.1Q tags', () => {
    const f = udpFrame({ ...addr, vlan: 100 }, Buffer.from('x'));
    const qinq = Buffer.concat([f.subarray(0, 12), Buffer.from([0x88, 0xa8, 0x00, 0x07]), f.subarray(12)]);
    const p = ok(decodePacket(LinkType.Ethernet, qinq));
    expect(p.vlans).toEqual([7, 100]);
    expect(p.payload.toString()).toBe('x');
  });

  it('Linux SLL, SLL2, raw IPv4, loopback', () => {
    const ipPart = udpFrame(addr, Buffer.from('abc')).subarray(14);
    const sll = Buffer.concat([Buffer.from('00000001000600020000000102030000', 'hex'), ipPart]);
    sll.writeUInt16BE(0x0800, 14);
    expect(ok(decodePacket(LinkType.LinuxSll, sll))).toMatchObject({ srcPort: 1234 });
    const sll2 = Buffer.concat([Buffer.alloc(20), ipPart]);
    sll2.writeUInt16BE(0x0800, 0);
    sll2[11] = 6;
    expect(ok(decodePacket(LinkType.LinuxSll2, sll2)).srcMac).toBe('00:00:00:00:00:00');
    expect(ok(decodePacket(LinkType.Raw, ipPart)).payload.toString()).toBe('abc');
    expect(ok(decodePacket(LinkType.Ipv4, ipPart)).payload.toString()).toBe('abc');
    expect(ok(decodePacket(LinkType.Null, Buffer.concat([Buffer.from([2, 0, 0, 0]), ipPart]))).ip.dst).toBe(
      '10.0.0.2',
    );
    expect(ok(decodePacket(LinkType.Null, Buffer.concat([Buffer.from([0, 0, 0, 2]), ipPart]))).ip.dst).toBe(
      '10.0.0.2',
    );
  });

  it('IPv4 fragments are noted, later ones carry no transport header', () => {
    const f = Buffer.from(udpFrame(addr, Buffer.from('abcdef')));
    f.writeUInt16BE(0x2000, 14 + 6);
    expect(ok(decodePacket(1, f)).ip.fragment).toBe('first');
    f.writeUInt16BE(0x0010, 14 + 6);
    const later = ok(decodePacket(1, f));
    expect(later.ip.fragment).toBe('later');
    expect(later.srcPort).toBe(0);
  });

  it('IPv6 with hop-by-hop, destination options and fragment headers', () => {
    const pkt = ipv6(
      [
        { type: 0, body: Buffer.alloc(6) },
        { type: 60, body: Buffer.alloc(14) },
        { type: 44, body: Buffer.from([0, 1, 0, 0, 0, 1]) },
      ],
      Buffer.from('dns?'),
    );
    const p = ok(decodePacket(LinkType.Ipv6, pkt));
    expect(p.ip).toMatchObject({
      version: 6,
      proto: 17,
      src: 'fe80::1',
      dst: '2001:db8::1:0:0:2',
      fragment: 'first',
    });
    expect(p.payload.toString()).toBe('dns?');
  });

  it('formats IPv6 addresses per RFC 5952', () => {
    expect(formatIpv6(Buffer.alloc(16), 0)).toBe('::');
    expect(formatIpv6(Buffer.from('20010db8000000010000000000000001', 'hex'), 0)).toBe('2001:db8:0:1::1');
    expect(formatIpv6(Buffer.from('00010002000300040005000600070008', 'hex'), 0)).toBe('1:2:3:4:5:6:7:8');
  });

  it('corrupt and cut packets come back as reasons', () => {
    const f = tcpFrame(addr, { seq: 1, ack: 1, flags: TcpFlag.ACK, payload: Buffer.alloc(100) });
    expect(decodePacket(1, f.subarray(0, 10))).toBe('short-ethernet');
    expect(decodePacket(1, f.subarray(0, 40))).toBe('snaplen-cut');
    const cut = ok(decodePacket(1, f.subarray(0, 80)));
    expect(cut.ip.truncated).toBe(true);
    const badIhl = Buffer.from(f);
    badIhl[14] = 0x41;
    expect(decodePacket(1, badIhl)).toBe('bad-ipv4-header-length');
    const arp = Buffer.from(f);
    arp.writeUInt16BE(0x0806, 12);
    expect(decodePacket(1, arp)).toBe('not-ip');
    expect(decodePacket(999, f)).toBe('unsupported-link-type');
  });
});
