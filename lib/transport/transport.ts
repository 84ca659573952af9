/**
 * The one transport interface the upper layer runs over (PS3.8 9.1: the UL
 * maps onto a reliable byte stream). TCP implements it today; TLS joins it
 * later without anything above this file knowing the difference.
 *
 * @module
 */

/** Network address of one end of a connection. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A connected, reliable, ordered byte stream. */
export interface Transport {
  /** Resolves with the next chunk of bytes, or null once the peer closed. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `data`; rejects if the connection is gone. */
  write(data: Uint8Array): Promise<void>;
  /** Closes both directions; safe to call more than once. */
  close(): void;
  readonly remote: Endpoint;
  readonly local: Endpoint;
}

/** A listening socket that yields one Transport per accepted connection. */
export interface TransportListener {
  /** Resolves with the next connection, or null once the listener is closed. */
  accept(): Promise<Transport | null>;
  close(): void;
  readonly local: Endpoint;
}
