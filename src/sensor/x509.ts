/**
 * @module sensor/x509
 * Just enough DER to read the subject and issuer names of an X.509 certificate seen in a TLS
 * handshake: the common name and organisation. Lengths are checked against their parent and the
 * nesting is fixed, so a hostile certificate cannot make the walk deep or long.
 */
/** What the sensor keeps of a certificate. */
export interface CertificateNames {
  subjectCn?: string;
  subjectO?: string;
  issuerCn?: string;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

const MAX_VALUE = 256;

/** The TLV at `p` within `[p, limit)`, or null when its length does not fit. */
function tlv(b: Buffer, p: number, limit: number): Tlv | null {
  if (p + 2 > limit) return null;
  const tag = b[p]!;
  let len = b[p + 1]!;
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || q + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | b[q + i]!;
    q += n;
  }
  if (q + len > limit) return null;
  return { tag, start: q, end: q + len };
}

/** OIDs 2.5.4.3 (commonName) and 2.5.4.10 (organizationName), as DER content bytes. */
const CN = '550403';
const O = '55040a';

/** Reads CN and O from a Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
function names(b: Buffer, name: Tlv): { cn?: string; o?: string } {
  const out: { cn?: string; o?: string } = {};
  for (let p = name.start; p < name.end; ) {
    const set = tlv(b, p, name.end);
    if (set?.tag !== 0x31) break;
    for (let q = set.start; q < set.end; ) {
      const atv = tlv(b, q, set.end);
      if (atv?.tag !== 0x30) break;
      const oid = tlv(b, atv.start, atv.end);
      if (oid && oid.tag === 0x06) {
        const val = tlv(b, oid.end, atv.end);
        const id = b.toString('hex', oid.start, oid.end);
        if (val && (id === CN || id === O)) {
          const enc = val.tag === 0x1e ? 'utf16le' : val.tag === 0x0c ? 'utf8' : 'latin1';
          let text =
            enc === 'utf16le'
              ? Buffer.from(b.subarray(val.start, val.end)).swap16().toString('utf16le')
              : b.toString(enc, val.start, val.end);
          text = text.slice(0, MAX_VALUE);
          if (id === CN && out.cn === undefined) out.cn = text;
          if (id === O && out.o === undefined) out.o = text;
        }
      }
      q = atv.end;
    }
    p = set.end;
  }
  return out;
}

/** Subject CN and O, issuer CN of a DER certificate, or why it cannot be read. */
export function parseCertificateNames(der: Buffer): CertificateNames | string {
  const cert = tlv(der, 0, der.length);
  if (cert?.tag !== 0x30) return 'x509-bad-certificate';
  const tbs = tlv(der, cert.start, cert.end);
  if (tbs?.tag !== 0x30) return 'x509-bad-certificate';
  // tbsCertificate: [0] version?, serialNumber, signature, issuer, validity, subject, …
  const fields: Tlv[] = [];
  for (let p = tbs.start; p < tbs.end && fields.length < 6; ) {
    const f = tlv(der, p, tbs.end);
    if (!f) return 'x509-bad-certificate';
    fields.push(f);
    p = f.end;
  }
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = fields[i + 2];
  const subject = fields[i + 4];
  if (!issuer || !subject || issuer.tag !== 0x30 || subject.tag !== 0x30) return 'x509-bad-certificate';
  const s = names(der, subject);
  const is = names(der, issuer);
  const out: CertificateNames = {};
  if (s.cn !== undefined) out.subjectCn = s.cn;
  if (s.o !== undefined) out.subjectO = s.o;
  if (is.cn !== undefined) out.issuerCn = is.cn;
  return out;
}
