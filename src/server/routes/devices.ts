/**
 * @module server/routes/devices
 * The device inventory and communication map over HTTP: the inventory table, one device with its
 * evidence, a device's peers over a period, and the map of the whole network over a period.
 * Analysts, biomedical engineers and admins read; biomedical engineers and admins change a
 * device's type, criticality, owner, location and notes, one by one or from a CMMS CSV file.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import {
  CRITICALITIES,
  DEVICE_TYPES,
  type Devices,
  MANUAL_LIMITS,
  MAX_MAP_NODES,
  SORT_KEYS,
} from '../../devices/index.js';
import type { RouteAccess } from '../access.js';

const DEVICE_ROLES: RouteAccess = { roles: ['admin', 'analyst', 'biomed'] };
/** Who may change the inventory by hand: clinical engineering and admins. */
const EDIT_ROLES: RouteAccess = { roles: ['admin', 'biomed'] };
const IMPORT_BYTES = 16 * 1024 * 1024;

const idParams = z.object({ id: z.string().min(1).max(128) });

const listQuery = z.object({
  type: z.enum(DEVICE_TYPES).optional(),
  criticality: z.enum(CRITICALITIES).optional(),
  q: z.string().max(200).optional(),
  vendor: z.string().min(1).max(200).optional(),
  vlan: z.coerce.number().int().min(0).max(4095).optional(),
  subnet: z.string().min(1).max(64).optional(),
  sort: z.enum(SORT_KEYS).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const peersQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

const mapQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_MAP_NODES).default(150),
});

const nullableText = (max: number) => z.string().max(max).nullable().optional();
const editBody = z
  .object({
    type: z.enum(DEVICE_TYPES).nullable().optional(),
    criticality: z.enum(CRITICALITIES).nullable().optional(),
    owner: nullableText(MANUAL_LIMITS.owner),
    location: nullableText(MANUAL_LIMITS.location),
    notes: nullableText(MANUAL_LIMITS.notes),
  })
  .strict();

/** `from` and `to` as dates; `from` must come first. */
function period(q: { from?: string; to?: string }): { from?: Date; to?: Date } {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from >= to)
    throw new VigilError('BAD_REQUEST', 'query.from must be before query.to', {
      details: { field: 'query.from' },
    });
  return { from, to };
}

/** The CSV of an import: the body as text/csv, or JSON `{ "csv": "…" }` from the console. */
function csvOf(request: FastifyRequest): Buffer | string {
  const body = request.body as unknown;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'object' && body !== null && typeof (body as { csv?: unknown }).csv === 'string')
    return (body as { csv: string }).csv;
  throw new VigilError('BAD_REQUEST', 'Send the CSV file as the body with Content-Type: text/csv', {
    details: { field: 'file' },
  });
}

export const deviceRoutes: FastifyPluginAsyncZod<{ devices: Devices }> = async (app, { devices }) => {
  // The CMMS import posts the CSV file as it is; parsed and size-checked by the domain.
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'buffer', bodyLimit: IMPORT_BYTES },
    (_r, body, done) => done(null, body),
  );

  app.get(
    '/api/devices',
    {
      config: { access: DEVICE_ROLES },
      schema: {
        tags: ['devices'],
        summary: 'The device inventory: filter, search, sort, page, and counts by type and criticality',
        querystring: listQuery,
      },
    },
    async (request) => devices.queries.list(request.query),
  );

  app.get(
    '/api/devices/:id',
    {
      config: { access: DEVICE_ROLES },
      schema: {
        tags: ['devices'],
        summary:
          'One device (by id, MAC or IP): identity with evidence, type, criticality, protocols, peers, findings',
        params: idParams,
      },
    },
    async (request) => {
      const device = await devices.queries.get(request.params.id);
      if (!device) throw new VigilError('NOT_FOUND', 'No such device.');
      return { device };
    },
  );

  app.get(
    '/api/devices/:id/peers',
    {
      config: { access: DEVICE_ROLES },
      schema: {
        tags: ['devices'],
        summary: "A device's peers over a period (hourly edges of the communication map)",
        params: idParams,
        querystring: peersQuery,
      },
    },
    async (request) => {
      const row = await devices.queries.find(request.params.id);
      if (!row) throw new VigilError('NOT_FOUND', 'No such device.');
      const { from, to, limit } = request.query;
      const { from: fromDate, to: toDate } = period(request.query);
      return {
        deviceId: row.id,
        from: from ?? null,
        to: to ?? null,
        peers: await devices.queries.peers(row.id, fromDate, toDate, limit),
      };
    },
  );

  app.patch(
    '/api/devices/:id',
    {
      config: { access: EDIT_ROLES },
      schema: {
        tags: ['devices'],
        summary:
          'Set or clear (null) a device’s type, criticality, owner, location and notes by hand; kept across re-detection',
        params: idParams,
        body: editBody,
      },
    },
    async (request) => {
      const row = await devices.queries.find(request.params.id);
      if (!row) throw new VigilError('NOT_FOUND', 'No such device.');
      await devices.edits.update(row.id, request.body, request.principal!.username);
      return { device: await devices.queries.get(row.id) };
    },
  );

  app.get(
    '/api/devices/map',
    {
      config: { access: DEVICE_ROLES },
      schema: {
        tags: ['devices'],
        summary:
          'The communication map over a period: the busiest devices (at most `limit`), edges summed per pair, external addresses grouped',
        querystring: mapQuery,
      },
    },
    async (request) => {
      const { from, to } = period(request.query);
      return devices.queries.map(from, to, request.query.limit);
    },
  );

  app.get(
    '/api/devices/export.csv',
    {
      config: { access: DEVICE_ROLES },
      schema: { tags: ['devices'], summary: 'The inventory as CSV, with what was set by hand (for a CMMS)' },
    },
    async (_request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="devices.csv"')
        .send(await devices.edits.exportCsv()),
  );

  app.post(
    '/api/devices/import',
    {
      config: { access: EDIT_ROLES },
      bodyLimit: IMPORT_BYTES,
      schema: {
        tags: ['devices'],
        summary:
          'Import type, criticality, owner, location and notes from CSV (text/csv body, or JSON {csv}); every row or none',
      },
    },
    async (request) => ({
      summary: await devices.edits.importCsv(csvOf(request), request.principal!.username),
    }),
  );
};
