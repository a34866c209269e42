/**
 * @module devices/summary
 * The few columns the inventory table shows (name, vendor, model), picked from a device's
 * attributes: the most confident value, the most recent on a tie, in a fixed order of preference
 * (a DHCP host name names a device better than the DICOM AE title it uses).
 */
import type { AttributeView } from './classify.js';

type Attr = AttributeView & { last_seen: string };

function best(list: readonly Attr[], names: readonly string[]): string | null {
  for (const name of names) {
    let pick: Attr | undefined;
    for (const a of list) {
      if (a.name !== name) continue;
      if (
        !pick ||
        a.confidence > pick.confidence ||
        (a.confidence === pick.confidence && a.last_seen > pick.last_seen)
      )
        pick = a;
    }
    if (pick) return pick.value;
  }
  return null;
}

/** Display name, vendor and model of a device from its attributes. */
export function summarise(list: readonly Attr[]): {
  name: string | null;
  vendor: string | null;
  model: string | null;
} {
  return {
    name: best(list, ['hostname', 'station_name', 'ae_title', 'hl7_sending_application', 'tls_server_name']),
    vendor: best(list, ['manufacturer', 'vendor']),
    model: best(list, ['model']),
  };
}
