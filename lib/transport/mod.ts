/**
 * Transports: TCP and DICOM TLS (PS3.15 B.1) behind one small interface, with certificate and CRL checks.
 *
 * @module
 */
export type {
  ConnectionGate,
  ConnectionPlace,
  Endpoint,
  Transport,
  TransportListener,
} from "./transport.ts";
export {
  ConnectError,
  connectTcp,
  type IpFamily,
  listenTcp,
  type TcpConnectOptions,
} from "./tcp.ts";
export {
  connectTls,
  type CrlCheck,
  listenTls,
  loadTlsCredentials,
  type PeerVerification,
  type RevocationList,
  type TlsConnectOptions,
  type TlsCredentials,
  TlsError,
  type TlsFailureKind,
  type TlsInfo,
  type TlsListenOptions,
  type TlsProfile,
  type TlsSettings,
  TlsTransport,
  type TlsVersion,
} from "./tls.ts";
export { tlsSentence, type TlsSide } from "./tls_errors.ts";
export {
  type CertificateVerdict,
  checkRootCertificate,
  verifyCertificateFile,
} from "./tls_verify.ts";
export {
  checkPermission,
  describePermission,
  type MissingPermission,
  missingPermission,
  PermissionError,
  type PermissionNeed,
} from "../util/permission.ts";
