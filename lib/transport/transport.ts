/**
 * The one transport interface the upper layer runs over (PS3.8 9.1: the UL
 * maps onto a reliable byte stream). TCP and TLS implement it, and nothing
 * above this file knows the difference.
 *
 * @module
 */

/** Network address of one end of a connection. */
export interface Endpoint {
  /** Host address of the end (an IP address for TCP connections). */
  host: string;
  /** TCP port number of the end. */
  port: number;
}

/** A connected, reliable, ordered byte stream. */
export interface Transport {
  /**
   * Reads the next bytes into `into` (not empty), resolving with how many
   * came (at least 1, at most `into.length`), or null once the peer closed,
   * reset the connection, or we closed it: the one read of a transport. The
   * reader chooses the memory, so bytes land where they will stay (the upper
   * layer reads a PDU's body straight into its buffer, and reuses one buffer
   * for the rest) and no transport keeps receive buffers of its own.
   */
  readInto(into: Uint8Array): Promise<number | null>;
  /** Writes all of `data`; rejects if the connection is gone. */
  write(data: Uint8Array): Promise<void>;
  /** Closes both directions; safe to call more than once. */
  close(): void;
  /** The peer's end of the connection. */
  readonly remote: Endpoint;
  /** Our end of the connection. */
  readonly local: Endpoint;
  /**
   * The place a gated listener reserved for this connection before its
   * handshake (see {@link ConnectionGate}); released when the socket is closed.
   */
  readonly place?: ConnectionPlace;
}

/**
 * Decides, before anything is read from it, whether a new connection is
 * served: a server's connection budget. A listener that does work of its
 * own before handing a connection over (a TLS handshake) asks it for each
 * connection it accepts, so that such work is bounded too.
 */
export interface ConnectionGate {
  /**
   * A connection from `peer` was accepted: its place, held until the socket
   * is closed, or undefined when it must be closed at once. `close` ends
   * the connection, for a gate that makes room by closing older ones.
   */
  admit(peer: Endpoint, close: () => void): ConnectionPlace | undefined;
}

/** A connection's place in a {@link ConnectionGate}. */
export interface ConnectionPlace {
  /** The socket is closed and its descriptor free; later calls do nothing. */
  release(): void;
}

/** A listening socket that yields one Transport per accepted connection. */
export interface TransportListener {
  /** Resolves with the next connection, or null once the listener is closed. */
  accept(): Promise<Transport | null>;
  /** Stops listening; a pending accept() then resolves with null. */
  close(): void;
  /** The address and port the listener is bound to. */
  readonly local: Endpoint;
}
