/**
 * @module sensor/link
 * Link-layer decoding: Ethernet with stacked 802.1Q/802.1ad tags, Linux cooked captures (SLL and
 * SLL2), raw IP and BSD loopback. It returns where the network layer starts and which it is.
 */
import { LinkType } from './capture-types.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/** The link layer of one frame, just what the sensor needs. */
export interface LinkInfo {
  etherType: number;
  /** Offset of the network-layer header in the frame. */
  offset: number;
  srcMac?: string;
  dstMac?: string;
  /** VLAN ids, outermost first, when the frame was tagged. */
  vlans?: number[];
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Formats six bytes at `off` as a lower-case colon-separated MAC address. */
export function formatMac(b: Uint8Array, off: number): string {
  return `${HEX[b[off]!]}:${HEX[b[off + 1]!]}:${HEX[b[off + 2]!]}:${HEX[b[off + 3]!]}:${HEX[b[off + 4]!]}:${HEX[b[off + 5]!]}`;
}

/** Decodes the link layer of a frame, or returns a reason it cannot. */
export function decodeLink(linkType: number, d: Buffer): LinkInfo | string {
  switch (linkType) {
    case LinkType.Ethernet: {
      if (d.length < 14) return 'short-ethernet';
      let type = d.readUInt16BE(12);
      let off = 14;
      let vlans: number[] | undefined;
      while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (d.length < off + 4) return 'short-vlan';
        if (!vlans) vlans = [];
        vlans.push(d.readUInt16BE(off) & 0x0fff);
        type = d.readUInt16BE(off + 2);
        off += 4;
        if (vlans.length > 4) return 'too-many-vlan-tags';
      }
      const info: LinkInfo = {
        etherType: type,
        offset: off,
        dstMac: formatMac(d, 0),
        srcMac: formatMac(d, 6),
      };
      if (vlans) info.vlans = vlans;
      return info;
    }
    case LinkType.LinuxSll: {
      if (d.length < 16) return 'short-sll';
      const info: LinkInfo = { etherType: d.readUInt16BE(14), offset: 16 };
      if (d.readUInt16BE(4) === 6) info.srcMac = formatMac(d, 6);
      return info;
    }
    case LinkType.LinuxSll2: {
      if (d.length < 20) return 'short-sll2';
      const info: LinkInfo = { etherType: d.readUInt16BE(0), offset: 20 };
      if (d[11] === 6) info.srcMac = formatMac(d, 12);
      return info;
    }
    case LinkType.Raw: {
      if (d.length < 1) return 'short-ip';
      const v = d[0]! >> 4;
      return { etherType: v === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, offset: 0 };
    }
    case LinkType.Ipv4:
      return { etherType: ETHERTYPE_IPV4, offset: 0 };
    case LinkType.Ipv6:
      return { etherType: ETHERTYPE_IPV6, offset: 0 };
    case LinkType.Null: {
      if (d.length < 4) return 'short-null';
      let fam = d.readUInt32LE(0);
      if (fam > 0xffff) fam = d.readUInt32BE(0);
      if (fam === 2) return { etherType: ETHERTYPE_IPV4, offset: 4 };
      if (fam === 24 || fam === 28 || fam === 30) return { etherType: ETHERTYPE_IPV6, offset: 4 };
      return 'unknown-address-family';
    }
    default:
      return 'unsupported-link-type';
  }
}
