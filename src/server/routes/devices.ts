/**
 * @module server/routes/devices
 * The device inventory and communication map over HTTP: the inventory table, one device with its
 * evidence, and a device's peers over a period. Analysts, biomedical engineers and admins.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VigilError } from '../../core/index.js';
import { CRITICALITIES, DEVICE_TYPES, type Devices, SORT_KEYS } from '../../devices/index.js';
import type { RouteAccess } from '../access.js';

const DEVICE_ROLES: RouteAccess = { roles: ['admin', 'analyst', 'biomed'] };

const idParams = z.object({ id: z.string().min(1).max(128) });

const listQuery = z.object({
  type: z.enum(DEVICE_TYPES).optional(),
  criticality: z.enum(CRITICALITIES).optional(),
  q: z.string().max(200).optional(),
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

export const deviceRoutes: FastifyPluginAsyncZod<{ devices: Devices }> = async (app, { devices }) => {
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
      const fromDate = from ? new Date(from) : undefined;
      const toDate = to ? new Date(to) : undefined;
      if (fromDate && toDate && fromDate >= toDate)
        throw new VigilError('BAD_REQUEST', 'query.from must be before query.to', {
          details: { field: 'query.from' },
        });
      return {
        deviceId: row.id,
        from: from ?? null,
        to: to ?? null,
        peers: await devices.queries.peers(row.id, fromDate, toDate, limit),
      };
    },
  );
};
