/** The console's client for the device inventory and communication map (same-origin JSON, as api.ts). */
import { request } from './api.js';
import type {
  DeviceDetail,
  DeviceFilter,
  DeviceList,
  DeviceMap,
  DevicePeer,
  ImportSummary,
  ManualPatch,
} from './devices-types.js';

/** `?a=1&b=2` from the parameters that have a value ('' when none do). */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const at = (id: string) => encodeURIComponent(id);

export const devicesApi = {
  list: (filter: DeviceFilter): Promise<DeviceList> => request('GET', `/api/devices${query({ ...filter })}`),
  device: async (id: string): Promise<DeviceDetail> =>
    (await request<{ device: DeviceDetail }>('GET', `/api/devices/${at(id)}`)).device,
  peers: async (id: string, from?: string, to?: string): Promise<DevicePeer[]> =>
    (
      await request<{ peers: DevicePeer[] }>(
        'GET',
        `/api/devices/${at(id)}/peers${query({ from, to, limit: 1000 })}`,
      )
    ).peers,
  /** Sets (or, with null, clears) what a person decides about a device. */
  update: async (id: string, patch: ManualPatch): Promise<DeviceDetail> =>
    (await request<{ device: DeviceDetail }>('PATCH', `/api/devices/${at(id)}`, patch)).device,
  map: (from: string | undefined, limit: number): Promise<DeviceMap> =>
    request('GET', `/api/devices/map${query({ from, limit })}`),
  /** Where the inventory downloads as CSV. */
  exportUrl: '/api/devices/export.csv',
  /** Imports a CMMS CSV file: every row or none (the error's details list the rows). */
  importCsv: async (csv: string): Promise<ImportSummary> =>
    (await request<{ summary: ImportSummary }>('POST', '/api/devices/import', { csv })).summary,
};
