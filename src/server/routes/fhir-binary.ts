/**
 * @module server/routes/fhir-binary
 * FHIR Binary: files (PDFs, images, DICOM) a DocumentReference points at.
 *
 * - `POST /fhir/Binary` with the file as the raw body (`Content-Type: application/pdf`, …) and
 *   its patient as `?patient=<id>` or `X-Security-Context: Patient/<id>`. The body is not parsed
 *   or buffered: this plugin's content-type parser hands the request stream to the vault, which
 *   encrypts and stores it as it arrives. A declared Content-Length over the limit is refused
 *   before reading; a body that grows past it is refused as soon as it does (413); a type not on
 *   the allow-list gets 415. A Binary as FHIR JSON (`data` in base64) is accepted too, within the
 *   JSON body limit.
 * - `GET /fhir/Binary/<id>` answers the file itself (its stored type, `Content-Disposition:
 *   attachment`, `nosniff`, `no-store`, and its SHA-256 in `Repr-Digest`), or, when the client asks
 *   for FHIR JSON first, the Binary resource with `data` for files up to {@link MAX_JSON_BINARY_BYTES}.
 *
 * The parsers live in this encapsulated plugin, so the rest of the API stays JSON-only.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../core/index.js';
import {
  type BinaryInfo,
  binaryPatientOf,
  binaryResource,
  type FhirResource,
  mediaTypeOf,
  requireAllowedType,
  type Vault,
  type VaultPrincipal,
} from '../../vault/index.js';
import { ANY_SIGNED_IN } from '../access.js';

/** The largest binary answered as FHIR JSON (base64 in `data`); larger ones only as the file. */
export const MAX_JSON_BINARY_BYTES = 1024 * 1024;

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** What the Binary routes need: the vault and the upload settings (`vault.upload`). */
export interface BinaryRouteOptions {
  vault: Vault;
  upload: { maxBytes: number; contentTypes: readonly string[] };
}

function principalOf(request: FastifyRequest): VaultPrincipal {
  const p = request.principal;
  if (!p) throw new VigilError('UNAUTHENTICATED', 'Sign in first');
  return { id: p.id, role: p.role };
}

function tooLarge(maxBytes: number): VigilError {
  return new VigilError(
    'PAYLOAD_TOO_LARGE',
    `The file is larger than the limit of ${Math.round((maxBytes / 1024 / 1024) * 10) / 10} MB this server accepts`,
    { details: { fhirCode: 'too-costly', maxBytes } },
  );
}

/** The patient named by `?patient=` or `X-Security-Context` (they must agree when both are given). */
function patientHint(request: FastifyRequest): string | undefined {
  const q = request.url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
  for (const k of params.keys())
    if (k !== 'patient')
      throw new VigilError('BAD_REQUEST', `Parameter ${k.slice(0, 64)} is not supported here`, {
        details: { fhirCode: 'not-supported' },
      });
  const fromQuery = params.getAll('patient');
  const header = request.headers['x-security-context'];
  const values = [...fromQuery, ...(typeof header === 'string' ? [header] : [])].map(binaryPatientOf);
  if (new Set(values).size > 1)
    throw new VigilError('BAD_REQUEST', 'The patient is named twice, differently');
  return values[0];
}

/** The upload as the vault takes it: a raw file body, or a Binary resource in JSON. */
function uploadOf(request: FastifyRequest): { patientId: string; contentType: unknown; stream: Readable } {
  const hint = patientHint(request);
  const body = request.body;
  if (body instanceof Readable) {
    if (hint === undefined) binaryPatientOf(undefined);
    return { patientId: hint!, contentType: request.headers['content-type'], stream: body };
  }
  const r = body as FhirResource | undefined;
  if (!r || typeof r !== 'object' || r.resourceType !== 'Binary')
    throw new VigilError(
      'BAD_REQUEST',
      'Send the file itself (with its Content-Type), or a Binary resource',
      {
        details: { expression: ['resourceType'] },
      },
    );
  const data = typeof r.data === 'string' ? r.data.replace(/\s+/g, '') : '';
  if (!data || data.length % 4 !== 0 || !BASE64_RE.test(data))
    throw new VigilError('BAD_REQUEST', 'Binary.data must be the file in base64', {
      details: { expression: ['Binary.data'] },
    });
  const patientId =
    r.securityContext === undefined ? binaryPatientOf(hint) : binaryPatientOf(r.securityContext);
  if (hint !== undefined && hint !== patientId)
    throw new VigilError('BAD_REQUEST', 'The patient is named twice, differently', {
      details: { expression: ['Binary.securityContext'] },
    });
  return { patientId, contentType: r.contentType, stream: Readable.from([Buffer.from(data, 'base64')]) };
}

/** Whether the client asks for FHIR JSON rather than the file (its first choice, or `_format=json`). */
function wantsJson(request: FastifyRequest): boolean {
  const q = request.url.indexOf('?');
  const format = q < 0 ? null : new URLSearchParams(request.url.slice(q + 1)).get('_format');
  if (format !== null) return /json$/.test(format);
  const accept = request.headers.accept;
  const first = typeof accept === 'string' ? accept.split(',')[0]!.split(';')[0]!.trim().toLowerCase() : '';
  return first === 'application/fhir+json' || first === 'application/json';
}

function withVersion(reply: FastifyReply, info: BinaryInfo): FastifyReply {
  return reply
    .header('etag', 'W/"1"')
    .header('last-modified', new Date(info.createdAt).toUTCString())
    .header('cache-control', 'no-store');
}

/** Registers the Binary routes (an encapsulated plugin: its body parsers stay here). */
export const fhirBinaryRoutes: FastifyPluginAsync<BinaryRouteOptions> = async (app, { vault, upload }) => {
  const config = { access: ANY_SIGNED_IN };
  const schema = (summary: string) => ({ tags: ['fhir'], summary });
  const allowed = upload.contentTypes.map((t) => t.toLowerCase());

  // Files: the request stream itself is the body, unread; the vault counts and stops at the limit.
  // A type off the allow-list is refused (415) here, before anything is read; JSON types keep the
  // API's parsers (a Binary resource in JSON).
  const passThrough = (
    request: FastifyRequest,
    payload: Readable,
    done: (err: Error | null, body?: unknown) => void,
  ): void => {
    try {
      requireAllowedType(mediaTypeOf(request.headers['content-type']), allowed);
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > upload.maxBytes) throw tooLarge(upload.maxBytes);
      done(null, payload);
    } catch (err) {
      done(err as Error, undefined);
    }
  };
  app.addContentTypeParser(allowed, passThrough);
  app.addContentTypeParser('*', passThrough);
  // An answer given before the whole body arrived (413, 415, 403) closes the connection, so the
  // rest of the body is not read only to be thrown away.
  app.addHook('onSend', async (request, reply) => {
    if (request.raw.complete === false) reply.header('connection', 'close');
  });

  app.post(
    '/fhir/Binary',
    {
      config,
      schema: schema(
        'Upload a file (raw body with its Content-Type, ?patient=<id> or X-Security-Context: Patient/<id>), streamed and encrypted',
      ),
    },
    async (request, reply) => {
      const { patientId, contentType, stream } = uploadOf(request);
      const info = await vault.createBinary(principalOf(request), {
        patientId,
        contentType: mediaTypeOf(contentType),
        stream,
        maxBytes: upload.maxBytes,
        allowedContentTypes: allowed,
      });
      const base = `${request.protocol}://${request.host}/fhir`;
      return withVersion(reply, info)
        .header('location', `${base}/Binary/${info.id}/_history/1`)
        .status(201)
        .type(FHIR_JSON)
        .send(binaryResource(info));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/fhir/Binary/:id',
    {
      config,
      schema: schema(
        `The file (as an attachment), or with Accept: application/fhir+json the Binary resource (files up to ${MAX_JSON_BINARY_BYTES} bytes)`,
      ),
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (wantsJson(request)) {
        const b = await vault.readBinary(principal, request.params.id, { maxBytes: MAX_JSON_BINARY_BYTES });
        const data = await buffer(b.stream);
        return withVersion(reply, b).type(FHIR_JSON).send(binaryResource(b, data));
      }
      const b = await vault.readBinary(principal, request.params.id);
      return withVersion(reply, b)
        .header('content-disposition', 'attachment')
        .header('x-content-type-options', 'nosniff')
        .header('content-length', String(b.size))
        .header('repr-digest', `sha-256=:${Buffer.from(b.sha256, 'hex').toString('base64')}:`)
        .type(b.contentType)
        .send(b.stream);
    },
  );
};
