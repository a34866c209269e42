/**
 * @module devices/facts
 * What the inventory learns from one event, before it knows which device is which: attribute
 * sightings, edges of the communication map, MAC↔IP bindings, and the raw material of findings.
 * Extractors (sensor, Zeek) produce these; the ingest resolves endpoints to devices and stores them.
 */

/** One end of a conversation as the wire showed it. */
export interface Endpoint {
  ip: string;
  mac?: string;
}

/** Attribute names the inventory keeps (others may be added; these are the ones rules read). */
export type AttributeName =
  | 'ip'
  | 'vlan'
  | 'vendor'
  | 'hostname'
  | 'ae_title'
  | 'dicom_role'
  | 'dicom_implementation_class_uid'
  | 'dicom_implementation_version'
  | 'dicom_storage_scp'
  | 'dicom_peer_scu'
  | 'manufacturer'
  | 'model'
  | 'software_version'
  | 'serial_number'
  | 'modality'
  | 'station_name'
  | 'hl7_sending_application'
  | 'hl7_sending_facility'
  | 'hl7_receiving_application'
  | 'hl7_receiving_facility'
  | 'hl7_equipment'
  | 'hl7_peer'
  | 'protocol_served'
  | 'protocol_used'
  | 'software'
  | 'software_type'
  | 'user_agent'
  | 'tls_server_name'
  | 'tls_ja3'
  | 'tls_ja4'
  | 'tls_ja3s'
  | 'tls_certificate'
  | 'ssh_banner'
  | 'dhcp_fingerprint'
  | 'dhcp_vendor_class'
  | 'dhcp_client_id'
  | 'sdc_endpoint'
  | 'sdc_type'
  | 'sdc_scope'
  | 'sdc_xaddr'
  | 'l3_gateway'
  | 'patient_data_sent';

/** A device showed an attribute value. */
export interface AttributeFact {
  who: Endpoint;
  name: AttributeName;
  value: string;
  source: string;
  evidence: string;
  confidence: number;
  time: string;
}

/** Traffic from one endpoint to another's port. */
export interface EdgeFact {
  src: Endpoint;
  dst: Endpoint;
  dstPort: number;
  transport: string;
  app: string;
  connections: number;
  packets: number;
  bytes: number;
  observations: number;
  time: string;
  /** The endpoints spoke an application protocol (DICOM, HL7): both deserve a device. */
  identified?: boolean;
}

/** A MAC held an IP (seen on the wire, or leased by DHCP). */
export interface BindingFact {
  ip: string;
  mac: string;
  time: string;
  /** From DHCP: authoritative, and moves the address away from its previous holder. */
  dhcp: boolean;
}

/** Patient data crossed the network in cleartext. */
export interface CleartextFact {
  src: Endpoint;
  dst: Endpoint;
  dstPort: number;
  app: 'hl7' | 'dicom';
  time: string;
  evidence: Record<string, unknown>;
}

/** A DICOM association named a calling AE title. */
export interface AssociationFact {
  callingAe: string;
  calledAe: string;
  src: Endpoint;
  dst: Endpoint;
  dstPort: number;
  time: string;
  evidence: Record<string, unknown>;
}

/** Everything one batch of events taught. */
export interface Facts {
  attributes: AttributeFact[];
  edges: EdgeFact[];
  bindings: BindingFact[];
  cleartext: CleartextFact[];
  associations: AssociationFact[];
}

/** An empty set of facts to fill. */
export function emptyFacts(): Facts {
  return { attributes: [], edges: [], bindings: [], cleartext: [], associations: [] };
}
