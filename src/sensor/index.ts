/**
 * @module sensor
 * The passive network sensor's public face: capture readers (pcap, pcapng), packet decoders,
 * TCP first-bytes reassembly, DICOM Upper Layer and HL7 v2 parsers that keep equipment identity
 * and only keyed hashes of patient identifiers, and the `Sensor` that turns a capture into
 * normalised events. Nothing here sends a packet.
 */
export { CaptureReader, type ReadCaptureOptions, readCapture } from './capture-reader.js';
export { type CaptureRecord, LinkType, type SkipCounts } from './capture-types.js';
export {
  type ConversationFrame,
  type FrameAddresses,
  mllpFrame,
  pcapFileHeader,
  pcapRecord,
  TcpConversation,
  tcpFrame,
  udpFrame,
} from './capture-writer.js';
export { type DecodedPacket, decodePacket, TcpFlag } from './decode.js';
export {
  commandName,
  type DicomAssociate,
  type DicomCommand,
  type DicomControl,
  type DicomMessage,
  type DicomReject,
  DicomSession,
  type DicomSessionOptions,
  looksLikeDicom,
  type PresentationContext,
  parseAssociate,
  parseCommand,
} from './dicom.js';
export { type DicomDatasetInfo, type DicomEquipment, parseDataset } from './dicom-dataset.js';
export { type Hl7Message, Hl7Stream, type Hl7StreamOptions, parseHl7 } from './hl7.js';
export type { IpInfo } from './ip.js';
export { makePatientIdHasher, type PatientIdHasher } from './keyed-hash.js';
export type { LinkInfo } from './link.js';
export {
  type CloseReason,
  type Endpoint,
  type ReassemblyOptions,
  type StreamHandler,
  type TcpConnection,
  TcpReassembler,
  type TcpSegmentInput,
} from './reassembly.js';
export { Sensor, type SensorOptions, type SensorSummary } from './sensor.js';
export {
  logNameOf,
  newZeekStats,
  readZeekFile,
  readZeekStream,
  ZEEK_LOGS,
  type ZeekReadStats,
  type ZeekRecord,
} from './zeek/index.js';
