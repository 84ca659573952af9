/**
 * DCMTK's short names of UIDs (what `-d` dumps print after `=`): transfer
 * syntaxes, the storage SOP classes of ./sop_classes.ts and the other SOP
 * classes the tools use. Apart from ./uids.ts so that a run that names no UID
 * (a plain echo) does not load and parse the storage SOP class table.
 *
 * @module
 */

import { NON_PATIENT_STORAGE_SOP_CLASSES, STORAGE_SOP_CLASSES } from "./sop_classes.ts";
import {
  QUERY_RETRIEVE_SOP_CLASSES,
  TRANSFER_SYNTAXES,
  type TransferSyntaxInfo,
  VERIFICATION_SOP_CLASS,
} from "./uids.ts";

// DCMTK 3.6.7's names (dcuid.cc uidNameMap) of the other SOP classes we use.
const OTHER_NAMES: readonly TransferSyntaxInfo[] = [
  { uid: VERIFICATION_SOP_CLASS, name: "VerificationSOPClass" },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientRoot.find,
    name: "FINDPatientRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientRoot.move,
    name: "MOVEPatientRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientRoot.get,
    name: "GETPatientRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.studyRoot.find,
    name: "FINDStudyRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.studyRoot.move,
    name: "MOVEStudyRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.studyRoot.get,
    name: "GETStudyRootQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientStudyOnly.find,
    name: "RETIRED_FINDPatientStudyOnlyQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientStudyOnly.move,
    name: "RETIRED_MOVEPatientStudyOnlyQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.patientStudyOnly.get,
    name: "RETIRED_GETPatientStudyOnlyQueryRetrieveInformationModel",
  },
  {
    uid: QUERY_RETRIEVE_SOP_CLASSES.modalityWorklist.find,
    name: "FINDModalityWorklistInformationModel",
  },
];
/** UID -> name, built on the first lookup (not at start: most runs print no UID's name). */
let names: Map<string, string> | undefined;
function nameOf(uid: string): string | undefined {
  names ??= new Map<string, string>(
    [
      ...TRANSFER_SYNTAXES,
      ...OTHER_NAMES,
      ...STORAGE_SOP_CLASSES,
      ...NON_PATIENT_STORAGE_SOP_CLASSES,
    ].map((t) => [t.uid, t.name]),
  );
  return names.get(uid);
}

/** DCMTK-style short name of a known UID, or undefined. */
export function uidName(uid: string): string | undefined {
  return nameOf(uid);
}

/** `=Name` for a known UID (as DCMTK dumps print it), else the UID itself. */
export function uidLabel(uid: string): string {
  const name = nameOf(uid);
  return name === undefined ? uid : `=${name}`;
}
