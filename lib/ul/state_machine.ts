/**
 * The DICOM upper-layer protocol machine of PS3.8 9.2, as data: states
 * (Tables 9-1..9-5), events (the rows of Table 9-10), actions (Tables
 * 9-6..9-9) and the state transition table itself (Table 9-10), plus a pure
 * lookup. Nothing here performs I/O; `association.ts` executes the actions.
 *
 * Every (state, event) pair has an entry. The cells the standard leaves blank
 * are of two kinds: a local-user primitive that is impossible in that state
 * (the runtime turns it into a usage Error thrown to the caller), and an
 * event that cannot happen in that state at all (a PDU while no connection
 * exists, an ARTIM expiry while ARTIM is not running, ...).
 *
 * @module
 */

/** State names and definitions, PS3.8 9.2.1, Tables 9-1..9-5. */
export const STATES = {
  Sta1: "Idle",
  Sta2: "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)",
  Sta3: "Awaiting local A-ASSOCIATE response primitive (from local user)",
  Sta4: "Awaiting transport connection opening to complete (from local transport service)",
  Sta5: "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU",
  Sta6: "Association established and ready for data transfer",
  Sta7: "Awaiting A-RELEASE-RP PDU",
  Sta8: "Awaiting local A-RELEASE response primitive (from local user)",
  Sta9: "Release collision requestor side; awaiting A-RELEASE response (from local user)",
  Sta10: "Release collision acceptor side; awaiting A-RELEASE-RP PDU",
  Sta11: "Release collision requestor side; awaiting A-RELEASE-RP PDU",
  Sta12: "Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)",
  Sta13: "Awaiting Transport Connection Close Indication (Association no longer exists)",
} as const;

/** One of the thirteen states Sta1..Sta13. */
export type State = keyof typeof STATES;

/** The states in table order, Sta1..Sta13. */
export const STATE_ORDER: readonly State[] = Object.keys(STATES) as State[];

/** Where an event comes from: the local user, the peer (a PDU), the transport or a timer. */
export type EventOrigin = "local-user" | "pdu" | "transport" | "timer";

/** What the table says about an event: the standard's wording, a short label for logs, its origin. */
export interface EventDef {
  /** The event as worded in the rows of PS3.8 Table 9-10. */
  readonly description: string;
  /** A short label for one-line logs. */
  readonly label: string;
  /** Who causes the event. */
  readonly origin: EventOrigin;
}

/** The nineteen events of PS3.8 Table 9-10. */
export const EVENTS = {
  Evt1: {
    description: "A-ASSOCIATE Request (local user)",
    label: "A-ASSOCIATE request",
    origin: "local-user",
  },
  Evt2: {
    description: "Transport Conn. Confirm (local transport service)",
    label: "transport connection confirmed",
    origin: "transport",
  },
  Evt3: {
    description: "A-ASSOCIATE-AC PDU (received on transport connection)",
    label: "A-ASSOCIATE-AC PDU received",
    origin: "pdu",
  },
  Evt4: {
    description: "A-ASSOCIATE-RJ PDU (received on transport connection)",
    label: "A-ASSOCIATE-RJ PDU received",
    origin: "pdu",
  },
  Evt5: {
    description: "Transport Connection Indication (local transport service)",
    label: "transport connection indication",
    origin: "transport",
  },
  Evt6: {
    description: "A-ASSOCIATE-RQ PDU (received on transport connection)",
    label: "A-ASSOCIATE-RQ PDU received",
    origin: "pdu",
  },
  Evt7: {
    description: "A-ASSOCIATE response primitive (accept)",
    label: "A-ASSOCIATE response (accept)",
    origin: "local-user",
  },
  Evt8: {
    description: "A-ASSOCIATE response primitive (reject)",
    label: "A-ASSOCIATE response (reject)",
    origin: "local-user",
  },
  Evt9: {
    description: "P-DATA request primitive",
    label: "P-DATA request",
    origin: "local-user",
  },
  Evt10: {
    description: "P-DATA-TF PDU",
    label: "P-DATA-TF PDU received",
    origin: "pdu",
  },
  Evt11: {
    description: "A-RELEASE Request primitive",
    label: "A-RELEASE request",
    origin: "local-user",
  },
  Evt12: {
    description: "A-RELEASE-RQ PDU (received on open transport connection)",
    label: "A-RELEASE-RQ PDU received",
    origin: "pdu",
  },
  Evt13: {
    description: "A-RELEASE-RP PDU (received on transport connection)",
    label: "A-RELEASE-RP PDU received",
    origin: "pdu",
  },
  Evt14: {
    description: "A-RELEASE Response primitive",
    label: "A-RELEASE response",
    origin: "local-user",
  },
  Evt15: {
    description: "A-ABORT Request primitive",
    label: "A-ABORT request",
    origin: "local-user",
  },
  Evt16: {
    description: "A-ABORT PDU (received on open transport connection)",
    label: "A-ABORT PDU received",
    origin: "pdu",
  },
  Evt17: {
    description: "Transport connection closed indication (local transport service)",
    label: "transport connection closed",
    origin: "transport",
  },
  Evt18: {
    description: "ARTIM timer expired (Associate reject/release timer)",
    label: "ARTIM timer expired",
    origin: "timer",
  },
  Evt19: {
    description: "Unrecognized or invalid PDU received",
    label: "unrecognized or invalid PDU received",
    origin: "pdu",
  },
} as const satisfies Record<string, EventDef>;

/** One of the nineteen events Evt1..Evt19. */
export type Event = keyof typeof EVENTS;

/** The events in table order, Evt1..Evt19. */
export const EVENT_ORDER: readonly Event[] = Object.keys(EVENTS) as Event[];

/**
 * A question the runtime answers when an action's next state depends on it
 * (PS3.8 9.2.2): AE-6 asks whether the service provider finds the
 * A-ASSOCIATE-RQ acceptable, AR-8 whether we are the association-requestor.
 */
export type Decision = "rq-acceptable-by-provider" | "is-association-requestor";

/** The next state of an action: fixed, or chosen by a decision. */
export type NextState =
  | { readonly kind: "fixed"; readonly state: State }
  | {
    readonly kind: "decision";
    readonly decision: Decision;
    /** Next state when the answer is yes. */
    readonly yes: State;
    /** Next state when the answer is no. */
    readonly no: State;
  };

/** One action of PS3.8 Tables 9-6..9-9: its definition in the standard's words and next state. */
export interface ActionDef {
  /** The action as defined in PS3.8 9.2.2. */
  readonly description: string;
  /** The state the action leads to. */
  readonly next: NextState;
}

const fixed = (state: State): NextState => ({ kind: "fixed", state });

/** The actions AE-1..AE-8, DT-1..DT-2, AR-1..AR-10 and AA-1..AA-8, PS3.8 9.2.2. */
export const ACTIONS = {
  // PS3.8 Table 9-6, association establishment related actions.
  "AE-1": {
    description: "Issue TRANSPORT CONNECT request primitive to local transport service",
    next: fixed("Sta4"),
  },
  "AE-2": { description: "Send A-ASSOCIATE-RQ-PDU", next: fixed("Sta5") },
  "AE-3": {
    description: "Issue A-ASSOCIATE confirmation (accept) primitive",
    next: fixed("Sta6"),
  },
  "AE-4": {
    description: "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection",
    next: fixed("Sta1"),
  },
  "AE-5": {
    description: "Issue Transport connection response primitive; start ARTIM timer",
    next: fixed("Sta2"),
  },
  "AE-6": {
    description: "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: " +
      "issue A-ASSOCIATE indication primitive (next state Sta3); otherwise: " +
      "issue A-ASSOCIATE-RJ-PDU and start ARTIM timer (next state Sta13)",
    next: { kind: "decision", decision: "rq-acceptable-by-provider", yes: "Sta3", no: "Sta13" },
  },
  "AE-7": { description: "Send A-ASSOCIATE-AC PDU", next: fixed("Sta6") },
  "AE-8": {
    description: "Send A-ASSOCIATE-RJ PDU and start ARTIM timer",
    next: fixed("Sta13"),
  },
  // PS3.8 Table 9-7, data transfer related actions.
  "DT-1": { description: "Send P-DATA-TF PDU", next: fixed("Sta6") },
  "DT-2": { description: "Send P-DATA indication primitive", next: fixed("Sta6") },
  // PS3.8 Table 9-8, association release related actions.
  "AR-1": { description: "Send A-RELEASE-RQ PDU", next: fixed("Sta7") },
  "AR-2": { description: "Issue A-RELEASE indication primitive", next: fixed("Sta8") },
  "AR-3": {
    description: "Issue A-RELEASE confirmation primitive, and close transport connection",
    next: fixed("Sta1"),
  },
  "AR-4": {
    description: "Issue A-RELEASE-RP PDU and start ARTIM timer",
    next: fixed("Sta13"),
  },
  "AR-5": { description: "Stop ARTIM timer", next: fixed("Sta1") },
  "AR-6": { description: "Issue P-DATA indication", next: fixed("Sta7") },
  "AR-7": { description: "Issue P-DATA-TF PDU", next: fixed("Sta8") },
  "AR-8": {
    description: "Issue A-RELEASE indication (release collision): " +
      "if association-requestor, next state is Sta9; if not, next state is Sta10",
    next: { kind: "decision", decision: "is-association-requestor", yes: "Sta9", no: "Sta10" },
  },
  "AR-9": { description: "Send A-RELEASE-RP PDU", next: fixed("Sta11") },
  "AR-10": { description: "Issue A-RELEASE confirmation primitive", next: fixed("Sta12") },
  // PS3.8 Table 9-9, association abort related actions.
  "AA-1": {
    description:
      "Send A-ABORT PDU (service-user source) and start (or restart if already started) ARTIM timer",
    next: fixed("Sta13"),
  },
  "AA-2": {
    description: "Stop ARTIM timer if running. Close transport connection",
    next: fixed("Sta1"),
  },
  "AA-3": {
    description: "If (service-user initiated abort): issue A-ABORT indication and close " +
      "transport connection; otherwise (service-provider initiated abort): issue A-P-ABORT " +
      "indication and close transport connection",
    next: fixed("Sta1"),
  },
  "AA-4": { description: "Issue A-P-ABORT indication primitive", next: fixed("Sta1") },
  "AA-5": { description: "Stop ARTIM timer", next: fixed("Sta1") },
  "AA-6": { description: "Ignore PDU", next: fixed("Sta13") },
  "AA-7": { description: "Send A-ABORT PDU", next: fixed("Sta13") },
  "AA-8": {
    description: "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, " +
      "and start ARTIM timer",
    next: fixed("Sta13"),
  },
} as const satisfies Record<ActionName, ActionDef>;

/** One of the 28 action names; {@linkcode ACTIONS} has exactly these keys. */
export type ActionName =
  | "AE-1"
  | "AE-2"
  | "AE-3"
  | "AE-4"
  | "AE-5"
  | "AE-6"
  | "AE-7"
  | "AE-8"
  | "DT-1"
  | "DT-2"
  | "AR-1"
  | "AR-2"
  | "AR-3"
  | "AR-4"
  | "AR-5"
  | "AR-6"
  | "AR-7"
  | "AR-8"
  | "AR-9"
  | "AR-10"
  | "AA-1"
  | "AA-2"
  | "AA-3"
  | "AA-4"
  | "AA-5"
  | "AA-6"
  | "AA-7"
  | "AA-8";

/** What Table 9-10 says for one (state, event) pair. */
export type Transition =
  | { readonly kind: "action"; readonly action: ActionName; readonly next: NextState }
  /** A blank cell on a local-user row: the user issued a primitive the state does not allow. */
  | { readonly kind: "invalid-local-primitive" }
  /** A blank cell on any other row: the event cannot occur in this state. */
  | { readonly kind: "impossible" };

/**
 * One event row of PS3.8 Table 9-10: the action in each state column
 * Sta1..Sta13, or "" for a blank cell.
 */
export type Row = readonly [
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
  ActionName | "",
];

/**
 * PS3.8 Table 9-10, row by row as printed: one row per event, one column per
 * state Sta1..Sta13; "" is a blank cell.
 */
// deno-fmt-ignore
export const TABLE_9_10: Readonly<Record<Event, Row>> = {
  //       Sta1    Sta2    Sta3    Sta4    Sta5    Sta6    Sta7    Sta8    Sta9    Sta10   Sta11   Sta12   Sta13
  Evt1:  ["AE-1", "",     "",     "",     "",     "",     "",     "",     "",     "",     "",     "",     ""    ],
  Evt2:  ["",     "",     "",     "AE-2", "",     "",     "",     "",     "",     "",     "",     "",     ""    ],
  Evt3:  ["",     "AA-1", "AA-8", "",     "AE-3", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-6"],
  Evt4:  ["",     "AA-1", "AA-8", "",     "AE-4", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-6"],
  Evt5:  ["AE-5", "",     "",     "",     "",     "",     "",     "",     "",     "",     "",     "",     ""    ],
  Evt6:  ["",     "AE-6", "AA-8", "",     "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-7"],
  Evt7:  ["",     "",     "AE-7", "",     "",     "",     "",     "",     "",     "",     "",     "",     ""    ],
  Evt8:  ["",     "",     "AE-8", "",     "",     "",     "",     "",     "",     "",     "",     "",     ""    ],
  Evt9:  ["",     "",     "",     "",     "",     "DT-1", "",     "AR-7", "",     "",     "",     "",     ""    ],
  Evt10: ["",     "AA-1", "AA-8", "",     "AA-8", "DT-2", "AR-6", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-6"],
  Evt11: ["",     "",     "",     "",     "",     "AR-1", "",     "",     "",     "",     "",     "",     ""    ],
  Evt12: ["",     "AA-1", "AA-8", "",     "AA-8", "AR-2", "AR-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-6"],
  Evt13: ["",     "AA-1", "AA-8", "",     "AA-8", "AA-8", "AR-3", "AA-8", "AA-8", "AR-10","AR-3", "AA-8", "AA-6"],
  Evt14: ["",     "",     "",     "",     "",     "",     "",     "AR-4", "AR-9", "",     "",     "AR-4", ""    ],
  Evt15: ["",     "",     "AA-1", "AA-2", "AA-1", "AA-1", "AA-1", "AA-1", "AA-1", "AA-1", "AA-1", "AA-1", ""    ],
  Evt16: ["",     "AA-2", "AA-3", "",     "AA-3", "AA-3", "AA-3", "AA-3", "AA-3", "AA-3", "AA-3", "AA-3", "AA-2"],
  Evt17: ["",     "AA-5", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AA-4", "AR-5"],
  Evt18: ["",     "AA-2", "",     "",     "",     "",     "",     "",     "",     "",     "",     "",     "AA-2"],
  Evt19: ["",     "AA-1", "AA-8", "",     "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-8", "AA-7"],
};

/**
 * Table 9-10 with each cell resolved to its {@link Transition}, by event and
 * then state: every PDU sent or received is an event, and a lookup here
 * makes no object and searches no list. Cells of one action share one
 * transition; the table is built with plain loops (a tool's start runs this).
 */
export const TRANSITIONS: Readonly<Record<Event, Readonly<Record<State, Transition>>>> =
  transitionTable();

function transitionTable(): Record<Event, Record<State, Transition>> {
  const table = {} as Record<Event, Record<State, Transition>>;
  const byAction = new Map<ActionName, Transition>();
  const invalid: Transition = Object.freeze({ kind: "invalid-local-primitive" });
  const impossible: Transition = Object.freeze({ kind: "impossible" });
  for (let e = 0; e < EVENT_ORDER.length; e++) {
    const event = EVENT_ORDER[e];
    const cells = TABLE_9_10[event];
    const blank = EVENTS[event].origin === "local-user" ? invalid : impossible;
    const row = {} as Record<State, Transition>;
    for (let i = 0; i < STATE_ORDER.length; i++) {
      const cell = cells[i];
      let t = cell === "" ? blank : byAction.get(cell);
      if (t === undefined) {
        t = Object.freeze({
          kind: "action",
          action: cell as ActionName,
          next: ACTIONS[cell as ActionName].next,
        });
        byAction.set(cell as ActionName, t);
      }
      row[STATE_ORDER[i]] = t;
    }
    table[event] = row;
  }
  return table;
}

/**
 * Looks up PS3.8 Table 9-10 for `state` + `event`: the action to execute and
 * its next state, or a marker for a blank cell ({@link TRANSITIONS}'s cell).
 */
export function transition(state: State, event: Event): Transition {
  return TRANSITIONS[event][state];
}

/** The concrete next state of `next`, given the answer to its decision when it has one. */
export function resolveNext(next: NextState, answer: boolean): State {
  if (next.kind === "fixed") return next.state;
  return answer ? next.yes : next.no;
}

/** The one-line form of a transition used in trace logs: "Sta6 + Evt10 (P-DATA-TF PDU received) -> DT-2 -> Sta6". */
export function describeTransition(
  state: State,
  event: Event,
  action: ActionName,
  next: State,
): string {
  return `${state} + ${event} (${EVENTS[event].label}) -> ${action} -> ${next}`;
}
