/**
 * Who we are on the wire: the implementation class UID and version name sent
 * in every A-ASSOCIATE (PS3.7 D.3.3.2, D.3.3.2.2).
 *
 * @module
 */

/** The toolkit's version. */
export const VERSION = "0.1.0";

/**
 * Implementation class UID: a UUID-derived UID under the 2.25 root
 * (PS3.5 B.2), so no organisational root is needed.
 */
export const IMPLEMENTATION_CLASS_UID = "2.25.51311414609608412964455530151455058978";

/** Implementation version name: 16 characters at most (PS3.7 D.3.3.2.2). */
export const IMPLEMENTATION_VERSION_NAME = "DIMSE_DENO_010";
