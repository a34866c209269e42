/**
 * @module vault/binary-links
 * A DocumentReference's attachments that point at a stored binary (`attachment.url` =
 * `Binary/<id>`): the binary must exist and belong to the DocumentReference's subject, so a
 * document can never expose another patient's file. The vault then states what it knows in the
 * attachment: `contentType`, `size`, `hash` (FHIR R4: base64 SHA-1) and, in the extension
 * {@link ATTACHMENT_SHA256_URL}, the SHA-256 (hex). A value the client gave that disagrees is
 * refused. The DocumentReference is encrypted under the same patient key as the binary, so the
 * digests stay sealed. Other URLs (absolute, external) are left as they are.
 */
import { VigilError } from '../core/index.js';
import type { BinaryInfo } from './binaries.js';
import { type FhirResource, patientOf } from './fhir-types.js';

/** The extension of an Attachment that carries the SHA-256 (hex) of the binary it points at. */
export const ATTACHMENT_SHA256_URL = 'urn:vigil:fhir:attachment-sha256';

const BINARY_URL_RE = /^Binary\/([A-Za-z0-9\-.]{1,64})$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function refuse(at: string, message: string): VigilError {
  return new VigilError('BAD_REQUEST', `${at}: ${message}`, { details: { expression: [at] } });
}

/**
 * The DocumentReference with its `Binary/<id>` attachments checked and completed (a copy; the
 * input is returned as is when no attachment points at a binary). `describe` finds a complete
 * binary's metadata, or null.
 */
export async function linkBinaryAttachments(
  doc: FhirResource,
  describe: (id: string) => Promise<BinaryInfo | null>,
): Promise<FhirResource> {
  if (doc.resourceType !== 'DocumentReference' || !Array.isArray(doc.content)) return doc;
  let changed = false;
  const content: unknown[] = [];
  for (const [i, entry] of (doc.content as unknown[]).entries()) {
    const attachment = isObj(entry) ? entry.attachment : undefined;
    const m =
      isObj(attachment) && typeof attachment.url === 'string' ? BINARY_URL_RE.exec(attachment.url) : null;
    if (!m || !isObj(attachment) || !isObj(entry)) {
      content.push(entry);
      continue;
    }
    const at = `DocumentReference.content[${i}].attachment`;
    const subject = patientOf(doc);
    const info = await describe(m[1]!);
    // One answer for "no such binary" and "another patient's": the id tells nothing about others.
    if (!info || subject === null || info.patientId !== subject)
      throw refuse(`${at}.url`, `Binary/${m[1]} is not a file of this document's subject (Patient)`);
    if (attachment.contentType !== undefined && attachment.contentType !== info.contentType)
      throw refuse(`${at}.contentType`, `the file is ${info.contentType}`);
    if (attachment.size !== undefined && attachment.size !== info.size)
      throw refuse(`${at}.size`, `the file has ${info.size} bytes`);
    if (attachment.hash !== undefined && attachment.hash !== info.sha1)
      throw refuse(`${at}.hash`, 'it is not the SHA-1 (base64) of the file');
    const others = Array.isArray(attachment.extension)
      ? (attachment.extension as unknown[]).filter((e) => !(isObj(e) && e.url === ATTACHMENT_SHA256_URL))
      : [];
    const given = Array.isArray(attachment.extension)
      ? (attachment.extension as unknown[]).find((e) => isObj(e) && e.url === ATTACHMENT_SHA256_URL)
      : undefined;
    if (given !== undefined && (given as Obj).valueString !== info.sha256)
      throw refuse(`${at}.extension`, 'the SHA-256 given is not the file’s');
    content.push({
      ...entry,
      attachment: {
        ...attachment,
        contentType: info.contentType,
        size: info.size,
        hash: info.sha1,
        extension: [...others, { url: ATTACHMENT_SHA256_URL, valueString: info.sha256 }],
      },
    });
    changed = true;
  }
  return changed ? { ...doc, content } : doc;
}
