/**
 * @module sensor
 * The passive network sensor's public face: capture readers (pcap, pcapng), packet decoders,
 * TCP first-bytes reassembly, DICOM Upper Layer and HL7 v2 parsers that keep equipment identity
 * and only keyed hashes of patient identifiers, the identity parsers of DHCP, DNS, HTTP, TLS
 * (JA3, JA3S, JA4), SDC WS-Discovery and IntelliVue, and the `Sensor` that turns a capture into
 * normalised events. Nothing here sends a packet.
 */
export { CaptureReader, type ReadCaptureOptions, readCapture } from './capture-reader.js';
export { type CaptureOutcome, type CaptureSource, fileSource } from './capture-source.js';
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
export { DHCP_MESSAGE_TYPES, type DhcpMessage, parseDhcp } from './dhcp.js';
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
export {
  type DnsAnswer,
  type DnsMessage,
  type DnsQuestion,
  DnsType,
  dnsTypeName,
  parseDns,
  readDnsName,
} from './dns.js';
export { type Hl7Message, Hl7Stream, type Hl7StreamOptions, parseHl7 } from './hl7.js';
export {
  type HttpHead,
  type HttpRequest,
  type HttpResponse,
  looksLikeHttp,
  parseHttpHead,
  redactPath,
} from './http.js';
export { type IntellivueMessage, parseIntellivue } from './intellivue.js';
export type { IpInfo } from './ip.js';
export { makePatientIdHasher, type PatientIdHasher } from './keyed-hash.js';
export type { LinkInfo } from './link.js';
export { type ProcessEnd, type ProcessSourceOptions, processSource } from './process-source.js';
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
  findTcpdump,
  type TcpdumpOptions,
  type TcpdumpSource,
  tcpdumpCounters,
  tcpdumpError,
  tcpdumpSource,
} from './tcpdump.js';
export {
  type ClientHello,
  isGrease,
  looksLikeTls,
  parseCertificateMessage,
  parseClientHello,
  parseServerHello,
  type ServerHello,
  TlsHandshakeReader,
} from './tls.js';
export { type Ja4Parts, ja3, ja3String, ja3s, ja3sString, ja4, ja4Parts } from './tls-fingerprint.js';
export { parseWsDiscovery, type WsdEndpoint, type WsdMessage } from './ws-discovery.js';
export { type CertificateNames, parseCertificateNames } from './x509.js';
export {
  type FollowNote,
  type FollowOptions,
  followZeek,
  logNameOf,
  newZeekStats,
  readZeekBatches,
  readZeekFile,
  ZEEK_FILE,
  ZEEK_LOGS,
  type ZeekReadStats,
  type ZeekRecord,
} from './zeek/index.js';
