/**
 * Data sets (PS3.5, PS3.10): the streaming parser and writer, Part 10 files, transcoding, the dictionary, UIDs, character sets and attributes.
 *
 * @module
 */
export {
  ambiguousVrEntries,
  type DictEntry,
  formatTag,
  lookupTag,
  tagKeyword,
  tagVr,
} from "./dictionary.ts";
export { resolveVr, type VrContext, VrResolver } from "./multi_vr.ts";
export {
  isStorageSopClass,
  type SopClassInfo,
  sopClassModality,
  STORAGE_SOP_CLASSES,
  STORESCU_DEFAULT_SOP_CLASSES,
} from "./sop_classes.ts";
export {
  isNativeUncompressed,
  type Layout as DatasetLayout,
  type TsEncoding,
  tsEncoding,
} from "./transfer_syntax.ts";
export {
  DatasetParser,
  type DatasetToken,
  type ElementToken,
  type EncapsulatedToken,
  type FragmentToken,
  type ItemEndToken,
  type ItemStartToken,
  type ParserLimits,
  type SequenceEndToken,
  type SequenceToken,
  type ValueToken,
} from "./parser.ts";
export {
  type Dataset,
  datasetDifferences,
  decodeDataset,
  type Element,
  encodeDataset,
  type EncodeOptions,
  stringValue,
} from "./dataset.ts";
export { transcodeDataset, type TranscodeOptions } from "./transcode.ts";
export {
  type ChunkOptions,
  DatasetReader,
  decodeFileMeta,
  type DicomFileInfo,
  encodeFileMeta,
  type FileMeta,
  type InputFormat,
  inspectDicomFile,
  type InspectLimits,
  openDataset,
  OpenDicomFile,
  openDicomFile,
  readDatasetChunks,
} from "./part10.ts";
export {
  DicomFileError,
  type DicomFileFormatMismatch,
  DicomParseError,
  type DicomParseErrorCode,
} from "./errors.ts";
export {
  type Attribute,
  attribute,
  type AttributeLimits,
  type Attributes,
  type AttributeValue,
  decodeAttributes,
  decodeAttributesFile,
  type DecodeAttributesOptions,
  DEFAULT_ATTRIBUTE_LIMITS,
  encodeAttributes,
  findAttribute,
  setAttribute,
  stringValues,
} from "./attributes.ts";
export { type DatasetFormatOptions, formatAttributes, formatDataset } from "./dump.ts";
export {
  applyQueryKeys,
  type KeyStep,
  parseQueryKey,
  queryFromKeys,
  type QueryKey,
  QueryKeyError,
} from "./query_keys.ts";
export { keywordTag } from "./keywords.ts";
export {
  CHARSET_VRS,
  CharsetError,
  type CharsetErrorCode,
  type CharsetProblemHandler,
  SpecificCharacterSet,
} from "./charset.ts";
export { TopLevelWatcher } from "./watcher.ts";
export {
  ECHO_TRANSFER_SYNTAXES,
  QUERY_RETRIEVE_SOP_CLASSES,
  TRANSFER_SYNTAXES,
  type TransferSyntaxInfo,
  transferSyntaxName,
  VERIFICATION_SOP_CLASS,
} from "./uids.ts";
export { uidName } from "./uid_names.ts";
export { newUid } from "../util/uid.ts";
export { isValidUid } from "../util/uid.ts";
