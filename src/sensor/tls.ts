/**
 * @module sensor/tls
 * The cleartext start of a TLS connection: records are read until encryption starts, handshake
 * messages are reassembled across records, and the ClientHello (SNI, ALPN, the lists that JA3 and
 * JA4 fingerprint), the ServerHello (the choices JA3S fingerprints) and, before TLS 1.3, the
 * server certificate's subject are parsed. Every length is checked against its parent.
 */
import { type CertificateNames, parseCertificateNames } from './x509.js';

export type { CertificateNames };

/** Handshake messages bigger than this are not waited for. */
const MAX_HANDSHAKE = 64 * 1024;
/** Largest record payload: 2^14 plus the expansion TLS allows. */
const MAX_RECORD = 16_384 + 2048;
const MAX_LIST = 512;

/** Is `v` a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, …, 0xfafa)? */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** A ClientHello, as wire values (GREASE included: the fingerprints drop it). */
export interface ClientHello {
  /** legacy_version of the hello. */
  version: number;
  ciphers: number[];
  /** Extension types in wire order. */
  extensions: number[];
  serverName?: string;
  alpn: string[];
  /** First ALPN value as raw bytes (JA4 reads it byte-wise). */
  alpnFirst?: Buffer;
  supportedVersions: number[];
  signatureAlgorithms: number[];
  groups: number[];
  pointFormats: number[];
}

/** A ServerHello. */
export interface ServerHello {
  version: number;
  cipher: number;
  extensions: number[];
  /** supported_versions' selected version (TLS 1.3), when sent. */
  selectedVersion?: number;
  alpn?: string;
}

/** A bounded reader over one handshake body. */
class Cursor {
  constructor(
    readonly b: Buffer,
    public p: number,
    readonly end: number,
  ) {}
  has(n: number): boolean {
    return this.p + n <= this.end;
  }
  u8(): number {
    return this.b[this.p++]!;
  }
  u16(): number {
    const v = this.b.readUInt16BE(this.p);
    this.p += 2;
    return v;
  }
}

/** Parses a ClientHello body (after the 4-byte handshake header), or returns why it cannot. */
export function parseClientHello(b: Buffer): ClientHello | string {
  const c = new Cursor(b, 0, b.length);
  if (!c.has(35)) return 'tls-truncated-hello';
  const version = c.u16();
  c.p += 32;
  const sid = c.u8();
  if (sid > 32 || !c.has(sid + 2)) return 'tls-bad-hello';
  c.p += sid;
  const clen = c.u16();
  if (clen % 2 || !c.has(clen + 1)) return 'tls-bad-hello';
  const ch: ClientHello = {
    version,
    ciphers: [],
    extensions: [],
    alpn: [],
    supportedVersions: [],
    signatureAlgorithms: [],
    groups: [],
    pointFormats: [],
  };
  for (let end = c.p + clen; c.p < end; ) {
    const v = c.u16();
    if (ch.ciphers.length < MAX_LIST) ch.ciphers.push(v);
  }
  const comp = c.u8();
  if (!c.has(comp)) return 'tls-bad-hello';
  c.p += comp;
  if (!c.has(2)) return ch; // no extensions (SSL 3.0-style hello)
  const elen = c.u16();
  if (!c.has(elen)) return 'tls-bad-hello';
  const end = c.p + elen;
  while (c.p + 4 <= end) {
    const type = c.u16();
    const len = c.u16();
    if (c.p + len > end) return 'tls-bad-extension';
    if (ch.extensions.length < MAX_LIST) ch.extensions.push(type);
    clientExtension(ch, new Cursor(b, c.p, c.p + len), type);
    c.p += len;
  }
  return ch;
}

function u16List(c: Cursor, lenBytes: 1 | 2, out: number[]): void {
  if (!c.has(lenBytes)) return;
  const n = lenBytes === 1 ? c.u8() : c.u16();
  const end = Math.min(c.p + n, c.end);
  while (c.p + 2 <= end && out.length < MAX_LIST) out.push(c.u16());
}

function clientExtension(ch: ClientHello, c: Cursor, type: number): void {
  switch (type) {
    case 0x0000: {
      // server_name: a list of (type, name); the host_name entry is the SNI.
      if (!c.has(2)) return;
      const listLen = c.u16();
      const end = Math.min(c.p + listLen, c.end);
      while (c.p + 3 <= end) {
        const t = c.u8();
        const n = c.u16();
        if (c.p + n > end) return;
        if (t === 0 && ch.serverName === undefined) ch.serverName = c.b.toString('latin1', c.p, c.p + n);
        c.p += n;
      }
      return;
    }
    case 0x0010: {
      if (!c.has(2)) return;
      const listLen = c.u16();
      const end = Math.min(c.p + listLen, c.end);
      while (c.p + 1 <= end) {
        const n = c.u8();
        if (c.p + n > end) return;
        if (ch.alpnFirst === undefined) ch.alpnFirst = c.b.subarray(c.p, c.p + n);
        if (ch.alpn.length < 16) ch.alpn.push(c.b.toString('latin1', c.p, c.p + n));
        c.p += n;
      }
      return;
    }
    case 0x000a:
      u16List(c, 2, ch.groups);
      return;
    case 0x000b: {
      if (!c.has(1)) return;
      const n = c.u8();
      for (let i = 0; i < n && c.has(1) && ch.pointFormats.length < MAX_LIST; i++)
        ch.pointFormats.push(c.u8());
      return;
    }
    case 0x000d:
      u16List(c, 2, ch.signatureAlgorithms);
      return;
    case 0x002b:
      u16List(c, 1, ch.supportedVersions);
      return;
    default:
      return;
  }
}

/** Parses a ServerHello body, or returns why it cannot. */
export function parseServerHello(b: Buffer): ServerHello | string {
  const c = new Cursor(b, 0, b.length);
  if (!c.has(35)) return 'tls-truncated-hello';
  const version = c.u16();
  c.p += 32;
  const sid = c.u8();
  if (sid > 32 || !c.has(sid + 3)) return 'tls-bad-hello';
  c.p += sid;
  const sh: ServerHello = { version, cipher: c.u16(), extensions: [] };
  c.p += 1; // compression method
  if (!c.has(2)) return sh;
  const elen = c.u16();
  if (!c.has(elen)) return 'tls-bad-hello';
  const end = c.p + elen;
  while (c.p + 4 <= end) {
    const type = c.u16();
    const len = c.u16();
    if (c.p + len > end) return 'tls-bad-extension';
    if (sh.extensions.length < MAX_LIST) sh.extensions.push(type);
    if (type === 0x002b && len === 2) sh.selectedVersion = b.readUInt16BE(c.p);
    else if (type === 0x0010 && len >= 3) {
      const n = b[c.p + 2]!;
      if (3 + n <= len) sh.alpn = b.toString('latin1', c.p + 3, c.p + 3 + n);
    }
    c.p += len;
  }
  return sh;
}

/** Handshake message types the sensor reads. */
export const HandshakeType = { ClientHello: 1, ServerHello: 2, Certificate: 11 } as const;

/**
 * One direction of a TLS connection: feed it the in-order bytes, it calls `onMessage` with each
 * complete handshake message until encryption starts, the callback returns `true` (seen enough),
 * or the bytes turn out not to be TLS (`failed` holds the reason).
 */
export class TlsHandshakeReader {
  private pending: Buffer | null = null;
  private hs: Buffer | null = null;
  /** No more messages will come (encrypted, not TLS, or the caller had enough). */
  done = false;
  failed: string | null = null;

  constructor(private readonly onMessage: (type: number, body: Buffer) => boolean) {}

  push(bytes: Buffer): void {
    if (this.done) return;
    let b = this.pending ? Buffer.concat([this.pending, bytes]) : bytes;
    this.pending = null;
    let p = 0;
    while (!this.done && p + 5 <= b.length) {
      const type = b[p]!;
      const len = b.readUInt16BE(p + 3);
      if (type < 20 || type > 24 || b[p + 1] !== 3 || len > MAX_RECORD) {
        this.fail('tls-bad-record');
        return;
      }
      if (p + 5 + len > b.length) break;
      if (type === 22) this.handshake(b.subarray(p + 5, p + 5 + len));
      else if (type === 20 || type === 23) this.done = true; // encrypted from here on
      p += 5 + len;
    }
    if (!this.done && p < b.length) {
      b = b.subarray(p);
      // Keep a copy: the capture's buffer must not be pinned by a partial record.
      this.pending = Buffer.from(b);
    }
  }

  private handshake(frag: Buffer): void {
    let h = this.hs ? Buffer.concat([this.hs, frag]) : frag;
    this.hs = null;
    while (!this.done && h.length >= 4) {
      const len = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
      if (len > MAX_HANDSHAKE) {
        this.fail('tls-bad-handshake-length');
        return;
      }
      if (h.length < 4 + len) break;
      if (this.onMessage(h[0]!, h.subarray(4, 4 + len))) this.done = true;
      h = h.subarray(4 + len);
    }
    if (!this.done && h.length) this.hs = Buffer.from(h);
  }

  private fail(reason: string): void {
    this.failed = reason;
    this.done = true;
    this.pending = null;
    this.hs = null;
  }
}

/** Does a connection's first payload look like a TLS handshake record? */
export function looksLikeTls(b: Buffer): boolean {
  return b.length >= 6 && b[0] === 22 && b[1] === 3 && b[2]! <= 4 && (b[5] === 1 || b[5] === 2);
}

/** The subject and issuer names of the first certificate of a Certificate message body. */
export function parseCertificateMessage(b: Buffer): CertificateNames | string {
  if (b.length < 6) return 'tls-truncated-certificate';
  const total = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  const first = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
  if (total + 3 > b.length || first + 3 > total) return 'tls-bad-certificate';
  return parseCertificateNames(b.subarray(6, 6 + first));
}
