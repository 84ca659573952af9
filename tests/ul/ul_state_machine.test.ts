// Tests of the pure PS3.8 Table 9-10 data (lib/ul/state_machine.ts).
import assert from "node:assert/strict";
import {
  type ActionName,
  ACTIONS,
  describeTransition,
  EVENT_ORDER,
  EVENTS,
  resolveNext,
  STATE_ORDER,
  STATES,
  transition,
} from "../../lib/ul/state_machine.ts";

Deno.test("Table 9-10 has 13 states, 19 events and an entry for all 247 pairs", () => {
  assert.equal(STATE_ORDER.length, 13);
  assert.equal(EVENT_ORDER.length, 19);
  assert.deepEqual(STATE_ORDER, Array.from({ length: 13 }, (_, i) => `Sta${i + 1}`));
  assert.deepEqual(EVENT_ORDER, Array.from({ length: 19 }, (_, i) => `Evt${i + 1}`));
  let pairs = 0;
  for (const s of STATE_ORDER) {
    for (const e of EVENT_ORDER) {
      const t = transition(s, e);
      assert.ok(["action", "invalid-local-primitive", "impossible"].includes(t.kind), `${s}+${e}`);
      pairs++;
    }
  }
  assert.equal(pairs, 247);
});

Deno.test("blank cells: local-user rows are invalid primitives, the others impossible", () => {
  let actions = 0, invalid = 0, impossible = 0;
  for (const s of STATE_ORDER) {
    for (const e of EVENT_ORDER) {
      const t = transition(s, e);
      if (t.kind === "action") actions++;
      else if (t.kind === "invalid-local-primitive") {
        assert.equal(EVENTS[e].origin, "local-user", `${s}+${e}`);
        invalid++;
      } else {
        assert.notEqual(EVENTS[e].origin, "local-user", `${s}+${e}`);
        impossible++;
      }
    }
  }
  // Filled cells per row of the printed table, Evt1..Evt19.
  const perRow = [1, 1, 11, 11, 1, 11, 1, 1, 2, 11, 1, 11, 11, 3, 10, 11, 12, 2, 11];
  assert.deepEqual(
    EVENT_ORDER.map((e) => STATE_ORDER.filter((s) => transition(s, e).kind === "action").length),
    perRow,
  );
  assert.equal(actions, 123);
  assert.equal(actions + invalid + impossible, 247);
});

Deno.test("every action's next state is the one PS3.8 9.2.2 gives", () => {
  const expected: Record<ActionName, string> = {
    "AE-1": "Sta4",
    "AE-2": "Sta5",
    "AE-3": "Sta6",
    "AE-4": "Sta1",
    "AE-5": "Sta2",
    "AE-6": "Sta3|Sta13",
    "AE-7": "Sta6",
    "AE-8": "Sta13",
    "DT-1": "Sta6",
    "DT-2": "Sta6",
    "AR-1": "Sta7",
    "AR-2": "Sta8",
    "AR-3": "Sta1",
    "AR-4": "Sta13",
    "AR-5": "Sta1",
    "AR-6": "Sta7",
    "AR-7": "Sta8",
    "AR-8": "Sta9|Sta10",
    "AR-9": "Sta11",
    "AR-10": "Sta12",
    "AA-1": "Sta13",
    "AA-2": "Sta1",
    "AA-3": "Sta1",
    "AA-4": "Sta1",
    "AA-5": "Sta1",
    "AA-6": "Sta13",
    "AA-7": "Sta13",
    "AA-8": "Sta13",
  };
  assert.deepEqual(Object.keys(ACTIONS).sort(), Object.keys(expected).sort());
  for (const [name, def] of Object.entries(ACTIONS)) {
    const got = def.next.kind === "fixed" ? def.next.state : `${def.next.yes}|${def.next.no}`;
    assert.equal(got, expected[name as ActionName], name);
  }
});

Deno.test("decisions: AE-6 (acceptable by provider) and AR-8 (association-requestor)", () => {
  const ae6 = transition("Sta2", "Evt6");
  assert.equal(ae6.kind, "action");
  if (ae6.kind !== "action") return;
  assert.equal(ae6.action, "AE-6");
  assert.deepEqual(ae6.next, {
    kind: "decision",
    decision: "rq-acceptable-by-provider",
    yes: "Sta3",
    no: "Sta13",
  });
  assert.equal(resolveNext(ae6.next, true), "Sta3");
  assert.equal(resolveNext(ae6.next, false), "Sta13");

  const ar8 = transition("Sta7", "Evt12");
  assert.equal(ar8.kind, "action");
  if (ar8.kind !== "action") return;
  assert.equal(ar8.action, "AR-8");
  assert.equal(resolveNext(ar8.next, true), "Sta9");
  assert.equal(resolveNext(ar8.next, false), "Sta10");
  assert.equal(resolveNext(ACTIONS["DT-2"].next, false), "Sta6");
});

/** Cells read off PS3.8 Table 9-10, with the row's and the action's wording. */
const SPOT_CHECKS: [string, string, ActionName, string][] = [
  ["Sta1", "Evt1", "AE-1", "A-ASSOCIATE Request (local user) in Idle: issue TRANSPORT CONNECT"],
  ["Sta4", "Evt2", "AE-2", "Transport Conn. Confirm: send A-ASSOCIATE-RQ-PDU"],
  ["Sta5", "Evt3", "AE-3", "A-ASSOCIATE-AC PDU: issue A-ASSOCIATE confirmation (accept)"],
  ["Sta5", "Evt4", "AE-4", "A-ASSOCIATE-RJ PDU: confirmation (reject), close transport"],
  ["Sta1", "Evt5", "AE-5", "Transport Connection Indication: response primitive; start ARTIM"],
  ["Sta2", "Evt6", "AE-6", "A-ASSOCIATE-RQ PDU: stop ARTIM, acceptable? indication"],
  ["Sta3", "Evt7", "AE-7", "A-ASSOCIATE response primitive (accept): send A-ASSOCIATE-AC"],
  ["Sta3", "Evt8", "AE-8", "A-ASSOCIATE response primitive (reject): send A-ASSOCIATE-RJ"],
  ["Sta6", "Evt9", "DT-1", "P-DATA request primitive: send P-DATA-TF PDU"],
  ["Sta6", "Evt10", "DT-2", "P-DATA-TF PDU: send P-DATA indication primitive"],
  ["Sta6", "Evt11", "AR-1", "A-RELEASE Request primitive: send A-RELEASE-RQ PDU"],
  ["Sta6", "Evt12", "AR-2", "A-RELEASE-RQ PDU: issue A-RELEASE indication"],
  ["Sta7", "Evt10", "AR-6", "P-DATA-TF PDU while awaiting A-RELEASE-RP: P-DATA indication"],
  ["Sta7", "Evt12", "AR-8", "A-RELEASE-RQ PDU while awaiting A-RELEASE-RP: collision"],
  ["Sta7", "Evt13", "AR-3", "A-RELEASE-RP PDU: release confirmation, close transport"],
  ["Sta8", "Evt9", "AR-7", "P-DATA request while awaiting A-RELEASE response: P-DATA-TF"],
  ["Sta8", "Evt14", "AR-4", "A-RELEASE Response primitive: A-RELEASE-RP PDU, start ARTIM"],
  ["Sta9", "Evt14", "AR-9", "collision requestor side: send A-RELEASE-RP PDU"],
  ["Sta10", "Evt13", "AR-10", "collision acceptor side: A-RELEASE confirmation primitive"],
  ["Sta11", "Evt13", "AR-3", "collision requestor side: confirmation, close transport"],
  ["Sta12", "Evt14", "AR-4", "collision acceptor side: A-RELEASE-RP PDU, start ARTIM"],
  ["Sta13", "Evt17", "AR-5", "Transport connection closed indication: stop ARTIM timer"],
  ["Sta2", "Evt3", "AA-1", "A-ASSOCIATE-AC PDU while awaiting A-ASSOCIATE-RQ: A-ABORT"],
  ["Sta2", "Evt19", "AA-1", "Unrecognized or invalid PDU while awaiting A-ASSOCIATE-RQ"],
  ["Sta6", "Evt15", "AA-1", "A-ABORT Request primitive: send A-ABORT PDU, start ARTIM"],
  ["Sta4", "Evt15", "AA-2", "A-ABORT Request while connecting: close transport connection"],
  ["Sta2", "Evt16", "AA-2", "A-ABORT PDU while awaiting A-ASSOCIATE-RQ: close"],
  ["Sta2", "Evt18", "AA-2", "ARTIM timer expired while awaiting A-ASSOCIATE-RQ: close"],
  ["Sta13", "Evt18", "AA-2", "ARTIM timer expired while awaiting close: close"],
  ["Sta13", "Evt16", "AA-2", "A-ABORT PDU while awaiting close: close"],
  ["Sta6", "Evt16", "AA-3", "A-ABORT PDU: A-ABORT or A-P-ABORT indication, close"],
  ["Sta6", "Evt17", "AA-4", "Transport connection closed indication: A-P-ABORT indication"],
  ["Sta4", "Evt17", "AA-4", "Transport closed while connecting: A-P-ABORT indication"],
  ["Sta2", "Evt17", "AA-5", "Transport closed while awaiting A-ASSOCIATE-RQ: stop ARTIM"],
  ["Sta13", "Evt3", "AA-6", "A-ASSOCIATE-AC PDU while awaiting close: ignore PDU"],
  ["Sta13", "Evt10", "AA-6", "P-DATA-TF PDU while awaiting close: ignore PDU"],
  ["Sta13", "Evt6", "AA-7", "A-ASSOCIATE-RQ PDU while awaiting close: send A-ABORT PDU"],
  ["Sta13", "Evt19", "AA-7", "invalid PDU while awaiting close: send A-ABORT PDU"],
  ["Sta6", "Evt13", "AA-8", "A-RELEASE-RP PDU with no release pending: A-ABORT, A-P-ABORT"],
  ["Sta6", "Evt3", "AA-8", "A-ASSOCIATE-AC PDU once associated: A-ABORT, A-P-ABORT"],
  ["Sta5", "Evt10", "AA-8", "P-DATA-TF PDU before A-ASSOCIATE-AC: A-ABORT, A-P-ABORT"],
  ["Sta7", "Evt19", "AA-8", "invalid PDU while awaiting A-RELEASE-RP: A-ABORT, A-P-ABORT"],
  ["Sta12", "Evt13", "AA-8", "second A-RELEASE-RP in collision acceptor side: A-ABORT"],
];

for (const [state, event, action, wording] of SPOT_CHECKS) {
  Deno.test(`Table 9-10 cell ${state} + ${event} = ${action} (${wording})`, () => {
    const t = transition(state as never, event as never);
    assert.equal(t.kind, "action");
    if (t.kind === "action") assert.equal(t.action, action);
  });
}

Deno.test("blank cells spot checks", () => {
  assert.equal(transition("Sta1", "Evt9").kind, "invalid-local-primitive"); // P-DATA while idle
  assert.equal(transition("Sta5", "Evt11").kind, "invalid-local-primitive"); // release before AC
  assert.equal(transition("Sta7", "Evt14").kind, "invalid-local-primitive"); // no RQ to answer
  assert.equal(transition("Sta13", "Evt15").kind, "invalid-local-primitive"); // abort after end
  assert.equal(transition("Sta2", "Evt15").kind, "invalid-local-primitive");
  assert.equal(transition("Sta1", "Evt3").kind, "impossible"); // PDU with no connection
  assert.equal(transition("Sta6", "Evt18").kind, "impossible"); // ARTIM not running
  assert.equal(transition("Sta1", "Evt17").kind, "impossible");
  assert.equal(transition("Sta6", "Evt5").kind, "impossible");
});

Deno.test("descriptions are the standard's wording", () => {
  assert.equal(STATES.Sta6, "Association established and ready for data transfer");
  assert.equal(
    STATES.Sta13,
    "Awaiting Transport Connection Close Indication (Association no longer exists)",
  );
  assert.equal(EVENTS.Evt19.description, "Unrecognized or invalid PDU received");
  assert.equal(EVENTS.Evt18.description, "ARTIM timer expired (Associate reject/release timer)");
  assert.equal(ACTIONS["AA-6"].description, "Ignore PDU");
  assert.equal(
    describeTransition("Sta6", "Evt10", "DT-2", "Sta6"),
    "Sta6 + Evt10 (P-DATA-TF PDU received) -> DT-2 -> Sta6",
  );
});

Deno.test("a lookup hands out the cell's transition itself: no object made per event", () => {
  // Every PDU sent or received is looked up (lib/ul/association.ts #dispatch).
  for (const e of EVENT_ORDER) {
    for (const s of STATE_ORDER) {
      const t = transition(s, e);
      assert.equal(transition(s, e), t);
      assert.ok(Object.isFrozen(t));
    }
  }
});
