// Every PDU type (and a malformed one, and a transport close) received in
// every state the runtime rests in: the (state, event, action, next) trace
// and the exact bytes the peer receives (PS3.8 9.2.3, Table 9-10).
import assert from "node:assert/strict";
import { encodePdu } from "../../lib/pdu/codec.ts";
import { type ActionName, type State, STATES } from "../../lib/ul/state_machine.ts";
import {
  abortBytes,
  ASSOCIATE_RJ,
  associateAc,
  associateRq,
  hex,
  HTTP_GET,
  P_DATA,
  RELEASE_RP,
  RELEASE_RQ,
  settle,
  SETUPS,
} from "../../testing/ul_peer.ts";

const PDUS = {
  "A-ASSOCIATE-RQ": { event: "Evt6", bytes: () => encodePdu(associateRq()) },
  "A-ASSOCIATE-AC": { event: "Evt3", bytes: () => encodePdu(associateAc()) },
  "A-ASSOCIATE-RJ": { event: "Evt4", bytes: () => ASSOCIATE_RJ },
  "P-DATA-TF": { event: "Evt10", bytes: () => P_DATA },
  "A-RELEASE-RQ": { event: "Evt12", bytes: () => RELEASE_RQ },
  "A-RELEASE-RP": { event: "Evt13", bytes: () => RELEASE_RP },
  "A-ABORT": { event: "Evt16", bytes: () => abortBytes(0, 0) },
  "unrecognized PDU (HTTP GET)": { event: "Evt19", bytes: () => HTTP_GET },
} as const;
type Kind = keyof typeof PDUS;

/** Table 9-10 cells for the rows above, column by column, as [action, next]. */
const EXPECTED: Record<string, Record<Kind, [ActionName, State]>> = {
  Sta2: {
    "A-ASSOCIATE-RQ": ["AE-6", "Sta3"],
    "A-ASSOCIATE-AC": ["AA-1", "Sta13"],
    "A-ASSOCIATE-RJ": ["AA-1", "Sta13"],
    "P-DATA-TF": ["AA-1", "Sta13"],
    "A-RELEASE-RQ": ["AA-1", "Sta13"],
    "A-RELEASE-RP": ["AA-1", "Sta13"],
    "A-ABORT": ["AA-2", "Sta1"],
    "unrecognized PDU (HTTP GET)": ["AA-1", "Sta13"],
  },
  Sta3: everything(["AA-8", "Sta13"], {}),
  Sta5: everything(["AA-8", "Sta13"], {
    "A-ASSOCIATE-AC": ["AE-3", "Sta6"],
    "A-ASSOCIATE-RJ": ["AE-4", "Sta1"],
  }),
  Sta6: everything(["AA-8", "Sta13"], {
    "P-DATA-TF": ["DT-2", "Sta6"],
    "A-RELEASE-RQ": ["AR-2", "Sta8"],
  }),
  Sta7: everything(["AA-8", "Sta13"], {
    "P-DATA-TF": ["AR-6", "Sta7"],
    "A-RELEASE-RQ": ["AR-8", "Sta9"], // association-requestor
    "A-RELEASE-RP": ["AR-3", "Sta1"],
  }),
  Sta8: everything(["AA-8", "Sta13"], {}),
  Sta10: everything(["AA-8", "Sta13"], { "A-RELEASE-RP": ["AR-10", "Sta12"] }),
  Sta11: everything(["AA-8", "Sta13"], { "A-RELEASE-RP": ["AR-3", "Sta1"] }),
  Sta13: {
    "A-ASSOCIATE-RQ": ["AA-7", "Sta13"],
    "A-ASSOCIATE-AC": ["AA-6", "Sta13"],
    "A-ASSOCIATE-RJ": ["AA-6", "Sta13"],
    "P-DATA-TF": ["AA-6", "Sta13"],
    "A-RELEASE-RQ": ["AA-6", "Sta13"],
    "A-RELEASE-RP": ["AA-6", "Sta13"],
    "A-ABORT": ["AA-2", "Sta1"],
    "unrecognized PDU (HTTP GET)": ["AA-7", "Sta13"],
  },
};

function everything(
  dflt: [ActionName, State],
  cells: Partial<Record<Kind, [ActionName, State]>>,
): Record<Kind, [ActionName, State]> {
  const out = {} as Record<Kind, [ActionName, State]>;
  for (const k of Object.keys(PDUS) as Kind[]) out[k] = cells[k] ?? dflt;
  out["A-ABORT"] = cells["A-ABORT"] ?? ["AA-3", "Sta1"];
  return out;
}

/** Transitions the runtime makes on its own right after the first one. */
const FOLLOW_UPS: Partial<Record<ActionName, string>> = {
  "AE-6": "Sta3+Evt7->AE-7->Sta6", // the harness's user accepts at once (not in the Sta3 setup)
  "AR-8": "Sta9+Evt14->AR-9->Sta11",
  "AR-10": "Sta12+Evt14->AR-4->Sta13",
};

/** What the peer receives for each action. */
function expectedBytes(action: ActionName, kind: Kind): Uint8Array {
  const malformed = kind === "unrecognized PDU (HTTP GET)";
  switch (action) {
    case "AA-1":
      return abortBytes(0, 0);
    case "AA-7":
    case "AA-8":
      return abortBytes(2, malformed ? 1 : 2);
    case "AE-6":
      return encodePdu(associateAc());
    case "AR-8":
    case "AR-10":
      return RELEASE_RP;
    default:
      return new Uint8Array();
  }
}

for (const [state, row] of Object.entries(EXPECTED)) {
  for (const kind of Object.keys(PDUS) as Kind[]) {
    const [action, next] = row[kind];
    Deno.test(`${state} + ${PDUS[kind].event} (${kind}) -> ${action} -> ${next}`, async () => {
      const h = await SETUPS[state]();
      assert.equal(h.trace.steps.at(-1)!.next, state, h.trace.text());
      const from = h.trace.steps.length;
      await h.peer.write(PDUS[kind].bytes());
      const step = await h.trace.until(() => true, from);
      assert.deepEqual(step, { state, event: PDUS[kind].event, action, next });
      const follow = FOLLOW_UPS[action];
      if (follow) await h.trace.until((s) => s.action !== action, from);
      await settle();
      const after = h.trace.steps.slice(from + 1).map((s) =>
        `${s.state}+${s.event}->${s.action}->${s.next}`
      );
      assert.deepEqual(after.slice(0, follow ? 1 : 0), follow ? [follow] : []);
      assert.equal(hex(h.peer.drain()), hex(expectedBytes(action, kind)));
      if (["AA-1", "AA-7", "AA-8"].includes(action) && kind !== "unrecognized PDU (HTTP GET)") {
        assert.ok(
          h.logs.includes(`D: unexpected ${kind} PDU in ${state} (${STATES[state as State]})`),
        );
      }
      if (kind === "unrecognized PDU (HTTP GET)") {
        assert.ok(
          h.logs.includes(
            "D: malformed PDU from peer: unrecognized PDU type 0x47: looks like HTTP",
          ),
        );
      }
      // Wind down: the peer closes; the runtime reaches Sta1 with every timer cleared.
      h.peer.close();
      await h.trace.idle();
      await Promise.all(h.pending);
      if (h.assoc) await h.assoc.closed;
    });
  }

  Deno.test(`${state} + Evt17 (transport connection closed)`, async () => {
    const h = await SETUPS[state]();
    const from = h.trace.steps.length;
    h.peer.close();
    const step = await h.trace.until(() => true, from);
    const action = state === "Sta2" ? "AA-5" : state === "Sta13" ? "AR-5" : "AA-4";
    assert.deepEqual(step, { state, event: "Evt17", action, next: "Sta1" });
    await Promise.all(h.pending);
    if (h.assoc) {
      await h.assoc.closed;
      const ind = await h.assoc.receive();
      if (state === "Sta13") assert.equal(ind.kind, "aborted"); // our own abort, earlier
      else {assert.deepEqual(ind, {
          kind: "aborted",
          source: "provider",
          reason: "peer closed the connection",
        });}
    }
  });
}
