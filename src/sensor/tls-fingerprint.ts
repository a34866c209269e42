/**
 * @module sensor/tls-fingerprint
 * TLS client and server fingerprints from parsed hellos: JA3 and JA3S (Salesforce: MD5 of the
 * decimal field string, GREASE removed) and JA4 (FoxIO, TLS over TCP: a readable prefix and two
 * truncated SHA-256 hashes of the sorted cipher and extension lists).
 */
import { createHash } from 'node:crypto';
import { type ClientHello, isGrease, type ServerHello } from './tls.js';

const md5 = (s: string) => createHash('md5').update(s, 'latin1').digest('hex');
const sha12 = (s: string) => createHash('sha256').update(s, 'latin1').digest('hex').slice(0, 12);
const noGrease = (l: number[]) => l.filter((v) => !isGrease(v));

/** The JA3 string: version,ciphers,extensions,groups,point formats (decimal, `-` joined). */
export function ja3String(ch: ClientHello): string {
  return [
    ch.version,
    noGrease(ch.ciphers).join('-'),
    noGrease(ch.extensions).join('-'),
    noGrease(ch.groups).join('-'),
    ch.pointFormats.join('-'),
  ].join(',');
}

/** JA3: the MD5 of the JA3 string, lower-case hex. */
export function ja3(ch: ClientHello): string {
  return md5(ja3String(ch));
}

/** The JA3S string: version,cipher,extensions. */
export function ja3sString(sh: ServerHello): string {
  return [sh.version, sh.cipher, noGrease(sh.extensions).join('-')].join(',');
}

/** JA3S: the MD5 of the JA3S string. */
export function ja3s(sh: ServerHello): string {
  return md5(ja3sString(sh));
}

const VERSIONS: Record<number, string> = {
  772: '13',
  771: '12',
  770: '11',
  769: '10',
  768: 's3',
  2: 's2',
  65279: 'd1',
  65277: 'd2',
  65276: 'd3',
};

const hex4 = (v: number) => v.toString(16).padStart(4, '0');
const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');
const alnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** JA4's two ALPN characters: first and last of the first value, hex when not alphanumeric. */
function alpnChars(first: Buffer | undefined): string {
  if (!first || first.length === 0) return '00';
  const a = first[0]!;
  const z = first[first.length - 1]!;
  if (alnum(a) && alnum(z)) return String.fromCharCode(a, z);
  const h = first.toString('hex');
  return h[0]! + h[h.length - 1]!;
}

/** The parts of a JA4 fingerprint, raw (before hashing) and hashed. */
export interface Ja4Parts {
  a: string;
  /** Sorted cipher list (`JA4_r`'s second part). */
  ciphers: string;
  /** Sorted extensions without SNI and ALPN, then `_` and the signature algorithms. */
  extensions: string;
}

/** The readable prefix and the raw lists of JA4 (`t`, TLS over TCP). */
export function ja4Parts(ch: ClientHello): Ja4Parts {
  const supported = noGrease(ch.supportedVersions);
  const version = supported.length ? Math.max(...supported) : ch.version;
  const ciphers = noGrease(ch.ciphers);
  const exts = noGrease(ch.extensions);
  const a = `t${VERSIONS[version] ?? '00'}${exts.includes(0) ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpnChars(ch.alpnFirst)}`;
  const sortedExt = exts
    .filter((e) => e !== 0x0000 && e !== 0x0010)
    .map(hex4)
    .sort()
    .join(',');
  const sigs = noGrease(ch.signatureAlgorithms).map(hex4).join(',');
  return {
    a,
    ciphers: ciphers.map(hex4).sort().join(','),
    extensions: sortedExt && sigs ? `${sortedExt}_${sigs}` : sortedExt,
  };
}

/** JA4 of a ClientHello sent over TCP. */
export function ja4(ch: ClientHello): string {
  const p = ja4Parts(ch);
  const b = p.ciphers ? sha12(p.ciphers) : '000000000000';
  const c = p.extensions ? sha12(p.extensions) : '000000000000';
  return `${p.a}_${b}_${c}`;
}
