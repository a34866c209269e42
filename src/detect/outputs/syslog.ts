/**
 * Syslog output: RFC 5424 messages whose MSG is a CEF record, over UDP (RFC 5426: one message per
 * datagram), TCP (RFC 6587 octet counting: `LEN SP MSG`) or TLS (RFC 5425, the same framing).
 * TCP and TLS keep one connection, opened on first use and again after an error; a delivery
 * counts as sent once the bytes are handed to the socket without error.
 */
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../platform/log/index.js';
import type { Alert } from '../alerts/store.js';
import { alertToCef } from './cef.js';
import { type DeliveryOptions, DeliveryQueue, PermanentDeliveryError } from './queue.js';
import type { AlertOutput, ProductInfo } from './types.js';

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface SyslogSettings extends DeliveryOptions {
  name: string;
  host: string;
  port: number;
  transport: SyslogTransport;
  /** Syslog facility (0-23), e.g. 4 security/auth, 10 authpriv, 13 log audit, 16-23 local0-7. */
  facility: number;
  /** HOSTNAME of the header (default: this machine's name). */
  hostname: string;
  appName: string;
  minLevel: string;
  timeoutMs: number;
  /** TLS: trusted CA certificates (PEM), client certificate and key for mutual TLS. */
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  verifyTls: boolean;
}

/** Syslog severity of a Sigma level: critical 2, high 3 (error), medium 4 (warning), low 5, informational 6. */
export function syslogSeverity(level: string): number {
  return { critical: 2, high: 3, medium: 4, low: 5, informational: 6 }[level] ?? 4;
}

/** An RFC 5424 header field: printable US-ASCII without spaces, bounded, `-` when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean || '-';
}

/** One alert as an RFC 5424 message with a CEF MSG (no framing). */
export function syslogMessage(
  alert: Alert,
  opts: { facility: number; hostname: string; appName: string; procId?: string },
  product: ProductInfo,
  now: Date,
): string {
  const pri = opts.facility * 8 + syslogSeverity(alert.level);
  return [
    `<${pri}>1`,
    now.toISOString(),
    headerField(opts.hostname, 255),
    headerField(opts.appName, 48),
    headerField(opts.procId ?? String(process.pid), 128),
    'alert',
    '-',
    alertToCef(alert, product),
  ].join(' ');
}

/** RFC 6587 octet-counting frame: the message's length in bytes, a space, the message. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** Largest UDP message sent (bigger ones are refused, never split across datagrams). */
const UDP_MAX = 8192;

export class SyslogOutput implements AlertOutput {
  readonly kind = 'syslog' as const;
  readonly name: string;
  readonly minLevel: string;
  readonly #queue: DeliveryQueue<Alert>;
  #udp: dgram.Socket | undefined;
  #stream: net.Socket | undefined;
  #connecting: Promise<net.Socket> | undefined;

  constructor(
    private readonly settings: SyslogSettings,
    private readonly product: ProductInfo,
    private readonly now: () => Date = () => new Date(),
    logger?: Logger,
  ) {
    this.name = settings.name;
    this.minLevel = settings.minLevel;
    this.#queue = new DeliveryQueue(settings.name, 'syslog', (a) => this.#deliver(a), settings, logger);
  }

  send(alert: Alert): void {
    this.#queue.push(alert);
  }

  stats() {
    return this.#queue.stats();
  }

  idle(timeoutMs?: number): Promise<void> {
    return this.#queue.idle(timeoutMs);
  }

  async close(): Promise<void> {
    await this.#queue.close();
    this.#udp?.close();
    this.#udp = undefined;
    this.#stream?.destroy();
    this.#stream = undefined;
  }

  async #deliver(alert: Alert): Promise<void> {
    const message = syslogMessage(alert, this.settings, this.product, this.now());
    if (this.settings.transport === 'udp') return this.#sendUdp(Buffer.from(message, 'utf8'));
    const socket = await this.#connection();
    await new Promise<void>((resolve, reject) => {
      socket.write(octetCounted(message), (err) => {
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve();
      });
    });
  }

  #sendUdp(data: Buffer): Promise<void> {
    if (data.length > UDP_MAX)
      throw new PermanentDeliveryError(`message of ${data.length} bytes is too large for UDP`);
    if (!this.#udp) {
      this.#udp = dgram.createSocket(isIP(this.settings.host) === 6 ? 'udp6' : 'udp4');
      this.#udp.on('error', () => {
        this.#udp?.close();
        this.#udp = undefined;
      });
      this.#udp.unref();
    }
    const udp = this.#udp;
    return new Promise((resolve, reject) =>
      udp.send(data, this.settings.port, this.settings.host, (err) => (err ? reject(err) : resolve())),
    );
  }

  #connection(): Promise<net.Socket> {
    if (this.#stream && !this.#stream.destroyed && this.#stream.writable)
      return Promise.resolve(this.#stream);
    if (this.#connecting) return this.#connecting;
    const s = this.settings;
    this.#connecting = new Promise<net.Socket>((resolve, reject) => {
      const socket =
        s.transport === 'tls'
          ? tls.connect({
              host: s.host,
              port: s.port,
              ca: s.ca,
              cert: s.cert,
              key: s.key,
              rejectUnauthorized: s.verifyTls,
              ...(isIP(s.host) ? {} : { servername: s.host }),
            })
          : net.connect({ host: s.host, port: s.port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`connecting to ${s.host}:${s.port} timed out`)),
        s.timeoutMs,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', fail);
      socket.once(s.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setKeepAlive(true, 30_000);
        socket.setNoDelay(true);
        // A later error or close drops the connection; the next delivery opens a new one.
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          if (this.#stream === socket) this.#stream = undefined;
        });
        // A syslog receiver sends nothing back; reading keeps the socket's state current.
        socket.resume();
        socket.unref();
        this.#stream = socket;
        resolve(socket);
      });
    }).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }
}
