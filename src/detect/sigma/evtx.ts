/**
 * Windows event logs in the evtx-to-JSON layout (`{Event: {System, EventData | UserData}}`, as
 * written by evtx_dump and used by SigmaHQ's regression data) mapped the way the SigmaHQ tooling
 * (pySigma's Windows pipelines, sigma-cli) sees them: EventData fields at the top level, System
 * fields flattened (`EventID`, `Channel`, `Computer`, `Provider_Name`, `Execution_ProcessID`, …),
 * and the log source derived from the channel (service) and provider + EventID (category).
 */
import type { SigmaEvent } from './types.js';

/** The log source of an event: one product and service, possibly several categories. */
export interface EventLogSource {
  product?: string;
  service?: string;
  /** An event may belong to several categories (Sysmon 13 is registry_set and registry_event). */
  categories: string[];
}

/**
 * Channel → Sigma `service`, the reverse of pySigma's Windows log source mapping
 * (`sigma.pipelines.windows`), for the services SigmaHQ rules use.
 */
export const WINDOWS_SERVICES: Readonly<Record<string, string>> = {
  security: 'security',
  system: 'system',
  application: 'application',
  'microsoft-windows-sysmon/operational': 'sysmon',
  'microsoft-windows-powershell/operational': 'powershell',
  'powershellcore/operational': 'powershell',
  'windows powershell': 'powershell-classic',
  'microsoft-windows-taskscheduler/operational': 'taskscheduler',
  'microsoft-windows-wmi-activity/operational': 'wmi',
  'dns server': 'dns-server',
  'microsoft-windows-driverframeworks-usermode/operational': 'driver-framework',
  'microsoft-windows-ntlm/operational': 'ntlm',
  'microsoft-windows-windows defender/operational': 'windefend',
  'microsoft-windows-printservice/admin': 'printservice-admin',
  'microsoft-windows-printservice/operational': 'printservice-operational',
  'microsoft-windows-terminalservices-localsessionmanager/operational':
    'terminalservices-localsessionmanager',
  'microsoft-windows-smbclient/security': 'smbclient-security',
  'microsoft-windows-smbserver/connectivity': 'smbserver-connectivity',
  'microsoft-windows-applocker/exe and dll': 'applocker',
  'microsoft-windows-applocker/msi and script': 'applocker',
  'microsoft-windows-applocker/packaged app-deployment': 'applocker',
  'microsoft-windows-applocker/packaged app-execution': 'applocker',
  'msexchange management': 'msexchange-management',
  'microsoft-servicebus-client': 'microsoft-servicebus-client',
  'microsoft-windows-windows firewall with advanced security/firewall': 'firewall-as',
  'microsoft-windows-bits-client/operational': 'bits-client',
  'microsoft-windows-codeintegrity/operational': 'codeintegrity-operational',
  'microsoft-windows-diagnosis-scripted/operational': 'diagnosis-scripted',
  'microsoft-windows-shell-core/operational': 'shell-core',
  'openssh/operational': 'openssh',
  'microsoft-windows-ldap-client/debug': 'ldap_debug',
  'microsoft-windows-security-mitigations/kernel mode': 'security-mitigations',
  'microsoft-windows-security-mitigations/user mode': 'security-mitigations',
  'microsoft-windows-dns client events/operational': 'dns-client',
  'microsoft-windows-appxdeploymentserver/operational': 'appxdeployment-server',
  'microsoft-windows-appxpackaging/operational': 'appxpackaging-om',
  'microsoft-windows-appmodel-runtime/admin': 'appmodel-runtime',
  'microsoft-windows-capi2/operational': 'capi2',
  'microsoft-windows-certificateservicesclient-lifecycle-system/operational':
    'certificateservicesclient-lifecycle-system',
  'microsoft-windows-lsa/operational': 'lsa-server',
  'microsoft-windows-iis-configuration/operational': 'iis-configuration',
  'microsoft-windows-kernel-shimengine/operational': 'shimengine',
};

/**
 * Sysmon EventID → categories, as pySigma's Sysmon pipeline defines them. Event 12 is
 * registry_add or registry_delete depending on `EventType`; 12, 13 and 14 are also
 * registry_event.
 */
export const SYSMON_CATEGORIES: Readonly<Record<number, readonly string[]>> = {
  1: ['process_creation'],
  2: ['file_change'],
  3: ['network_connection'],
  4: ['sysmon_status'],
  5: ['process_termination'],
  6: ['driver_load'],
  7: ['image_load'],
  8: ['create_remote_thread'],
  9: ['raw_access_thread'],
  10: ['process_access'],
  11: ['file_event'],
  13: ['registry_set', 'registry_event'],
  14: ['registry_rename', 'registry_event'],
  15: ['create_stream_hash'],
  16: ['sysmon_status'],
  17: ['pipe_created'],
  18: ['pipe_created'],
  19: ['wmi_event'],
  20: ['wmi_event'],
  21: ['wmi_event'],
  22: ['dns_query'],
  23: ['file_delete'],
  24: ['clipboard_capture'],
  25: ['process_tampering'],
  26: ['file_delete_detected', 'file_delete'],
  27: ['file_block_executable'],
  28: ['file_block_shredding'],
  29: ['file_executable_detected'],
  255: ['sysmon_error'],
};

/**
 * Other providers: `service:EventID` → categories (Security 4688 is process creation in the
 * pySigma Windows audit pipeline; PowerShell script block, module and classic events).
 */
export const OTHER_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  'security:4688': ['process_creation'],
  'powershell:4104': ['ps_script'],
  'powershell:4103': ['ps_module'],
  'powershell-classic:400': ['ps_classic_start'],
  'powershell-classic:600': ['ps_classic_provider_start'],
  'powershell-classic:800': ['ps_classic_script'],
};

/**
 * Security 4688 names some fields differently from Sysmon; the audit pipeline maps the Sigma
 * taxonomy names onto them. Added only when the Sysmon name is absent.
 */
const AUDIT_4688_FIELDS: Readonly<Record<string, string>> = {
  Image: 'NewProcessName',
  ParentImage: 'ParentProcessName',
  ProcessId: 'NewProcessId',
  LogonId: 'SubjectLogonId',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when the object is an evtx-to-JSON event (`Event.System`). */
export function isEvtxEvent(e: unknown): boolean {
  return isObj(e) && isObj(e.Event) && isObj(e.Event.System);
}

function textOf(v: unknown): unknown {
  if (isObj(v) && '#text' in v) return v['#text'];
  return v;
}

function flattenSystem(sys: Obj, out: Obj): void {
  for (const [k, v] of Object.entries(sys)) {
    if (isObj(v)) {
      const attrs = v['#attributes'];
      if (isObj(attrs)) for (const [a, av] of Object.entries(attrs)) out[`${k}_${a}`] = av;
      if ('#text' in v) out[k] = v['#text'];
    } else out[k] = v;
  }
}

function flattenData(data: unknown, out: Obj): void {
  if (!isObj(data)) return;
  for (const [k, v] of Object.entries(data)) {
    if (k === '#attributes') continue;
    if (k === 'Data' && Array.isArray(v)) {
      // Unnamed <Data> elements (classic providers): kept as a list under `Data`.
      out.Data = v.map(textOf);
      continue;
    }
    out[k] = textOf(v);
  }
}

/** Map an evtx-to-JSON event to the flat Sigma view and its log source. */
export function mapEvtx(raw: SigmaEvent): { event: SigmaEvent; logsource: EventLogSource } {
  const ev = (raw.Event ?? {}) as Obj;
  const out: Obj = {};
  const sys = isObj(ev.System) ? ev.System : {};
  flattenSystem(sys, out);
  flattenData(ev.EventData, out);
  if (isObj(ev.UserData)) {
    // UserData holds one provider-specific element whose children are the fields.
    for (const [k, v] of Object.entries(ev.UserData)) {
      if (k === '#attributes') continue;
      if (isObj(v)) flattenData(v, out);
      else out[k] = v;
    }
  }
  const channel = typeof out.Channel === 'string' ? out.Channel : '';
  const provider = typeof out.Provider_Name === 'string' ? out.Provider_Name : '';
  const eventId = Number(out.EventID);
  const service = WINDOWS_SERVICES[channel.toLowerCase()];
  const categories: string[] = [];
  if (provider === 'Microsoft-Windows-Sysmon' || service === 'sysmon') {
    if (eventId === 12) {
      const t = String(out.EventType ?? '');
      categories.push(
        t === 'DeleteKey' || t === 'DeleteValue' ? 'registry_delete' : 'registry_add',
        'registry_event',
      );
    } else categories.push(...(SYSMON_CATEGORIES[eventId] ?? []));
  } else if (service) {
    categories.push(...(OTHER_CATEGORIES[`${service}:${eventId}`] ?? []));
  }
  if (service === 'security' && eventId === 4688) {
    for (const [sigmaName, auditName] of Object.entries(AUDIT_4688_FIELDS))
      if (!(sigmaName in out) && auditName in out) out[sigmaName] = out[auditName];
  }
  const logsource: EventLogSource = { product: 'windows', categories };
  if (service) logsource.service = service;
  return { event: out, logsource };
}
