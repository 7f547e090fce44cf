"""The simulator answers every action it implements as Asterisk does, errors included.

Each expected message is copied by hand from Asterisk's source (manager.c: action_setvar,
action_hangup, action_redirect, action_blind_transfer, action_atxfer, action_originate;
app_queue.c: manager_add_queue_member, manager_remove_queue_member, manager_pause_queue_member,
manager_queue_member_penalty), and so is the order the fields are checked in: a request missing
two fields gets the first check's message.
"""

from __future__ import annotations

import pytest

from callcenter.simulator.actions import c_int
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.wire import AmiEvent

AGENT = "PJSIP/1001"


def _answer(pbx: Pbx, action: str, fields: dict[str, str]) -> tuple[str, str]:
    got = dict(pbx.action(action, fields, "7", pbx.now).response)
    return got["Response"], got["Message"]


def _in_a_call() -> tuple[Pbx, str, str, list[AmiEvent]]:
    """A simulator with Ana talking to one caller: (pbx, caller's channel, agent's channel, events)."""
    pbx = Pbx()
    assert _answer(pbx, "QueueAdd", {"Queue": "support", "Interface": AGENT, "MemberName": "Ana"}) == (
        "Success",
        "Added interface to queue",
    )
    fields = {"Channel": "Local/600@support/n", "Application": "Wait", "Data": "600", "Async": "true",
              "CallerID": '"Caro" <5491100000001>'}  # fmt: skip
    assert _answer(pbx, "Originate", fields) == ("Success", "Originate successfully queued")
    events: list[AmiEvent] = []
    for _ in range(60):  # up to 30 s, stopping at the answer: the call then goes on
        events += pbx.advance(pbx.now + 0.5)
        if any(e.name == "AgentConnect" for e in events):
            break
    (connect,) = [e for e in events if e.name == "AgentConnect"]
    h = dict(connect.headers)
    return pbx, h["Channel"], h["DestChannel"], events


QUEUE_ERRORS = [
    ("QueueAdd", {}, "'Queue' not specified."),
    ("QueueAdd", {"Interface": AGENT}, "'Queue' not specified."),
    ("QueueAdd", {"Queue": "support"}, "'Interface' not specified."),
    ("QueueAdd", {"Queue": "nosuch", "Interface": AGENT}, "Unable to add interface to queue: No such queue"),
    ("QueueRemove", {"Queue": "support"}, "Need 'Queue' and 'Interface' parameters."),
    ("QueueRemove", {"Interface": AGENT}, "Need 'Queue' and 'Interface' parameters."),
    ("QueueRemove", {"Queue": "nosuch", "Interface": AGENT},
     "Unable to remove interface from queue: No such queue"),
    ("QueueRemove", {"Queue": "support", "Interface": "PJSIP/9999"}, "Unable to remove interface: Not there"),
    ("QueuePause", {"Interface": AGENT}, "Need 'Interface' and 'Paused' parameters."),
    ("QueuePause", {"Interface": AGENT, "Paused": ""}, "Need 'Interface' and 'Paused' parameters."),
    ("QueuePause", {"Paused": "true"}, "Need 'Interface' and 'Paused' parameters."),
    ("QueuePause", {"Interface": "PJSIP/9999", "Paused": "true"}, "Interface not found"),
    ("QueuePenalty", {"Interface": AGENT}, "Need 'Interface' and 'Penalty' parameters."),
    ("QueuePenalty", {"Penalty": "2"}, "Need 'Interface' and 'Penalty' parameters."),
    ("QueuePenalty", {"Interface": "PJSIP/9999", "Penalty": "2"}, "Invalid interface, queuename or penalty"),
    ("QueuePenalty", {"Interface": AGENT, "Penalty": "-1"}, "Invalid interface, queuename or penalty"),
    ("QueuePenalty", {"Interface": AGENT, "Queue": "support-l2", "Penalty": "2"},
     "Invalid interface, queuename or penalty"),
    ("Setvar", {"Value": "1"}, "No variable specified"),
    ("Setvar", {"Channel": "PJSIP/9999-00000001", "Variable": "X"}, "No such channel"),
    ("Hangup", {}, "No channel specified"),
    ("Hangup", {"Channel": "PJSIP/9999-00000001"}, "No such channel"),
    ("Originate", {}, "Channel not specified"),
    ("Originate", {"Channel": "Local/600@support/n", "Priority": "start"}, "Invalid priority"),
    ("Originate", {"Channel": "Local/600@support/n", "Application": "Wait", "Timeout": "soon"},
     "Invalid timeout"),
    ("Originate", {"Channel": "nonsense", "Application": "Wait"}, "Invalid channel"),
    ("Originate", {"Channel": "Local/600@support/n", "Exten": "600"},
     "Originate with 'Exten' requires 'Context' and 'Priority'"),
    ("Originate", {"Channel": "PJSIP/elsewhere", "Application": "Wait"}, "Originate failed"),
    ("BlindTransfer", {"Exten": "700"}, "No channel specified"),
    ("BlindTransfer", {"Channel": "PJSIP/9999-00000001"}, "No extension specified"),
    ("BlindTransfer", {"Channel": "PJSIP/9999-00000001", "Exten": "700"}, "Channel specified does not exist"),
    ("Atxfer", {"Exten": "700"}, "No channel specified"),
    ("Atxfer", {"Channel": "PJSIP/9999-00000001"}, "No extension specified"),
    ("Atxfer", {"Channel": "PJSIP/9999-00000001", "Exten": "700"}, "Channel specified does not exist"),
    ("Redirect", {}, "Channel not specified"),
    ("Redirect", {"Channel": "PJSIP/9999-00000001", "Exten": "700"}, "Context not specified"),
    ("Redirect", {"Channel": "PJSIP/9999-00000001", "Context": "transfer"}, "Exten not specified"),
    ("Redirect", {"Channel": "PJSIP/9999-00000001", "Context": "transfer", "Exten": "700"},
     "Priority not specified"),
    ("Redirect", {"Channel": "PJSIP/9999-00000001", "Context": "transfer", "Exten": "700", "Priority": "0"},
     "Priority is invalid"),
    ("Redirect", {"Channel": "PJSIP/9999-00000001", "Context": "transfer", "Exten": "700", "Priority": "1"},
     "Channel does not exist: PJSIP/9999-00000001"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "fields", "message"), QUEUE_ERRORS)
def test_errors_in_asterisks_words_and_order(action: str, fields: dict[str, str], message: str) -> None:
    pbx = Pbx()
    pbx.action("QueueAdd", {"Queue": "support", "Interface": AGENT, "MemberName": "Ana"}, "1", pbx.now)
    assert _answer(pbx, action, fields) == ("Error", message)


def test_a_refused_action_changes_nothing() -> None:
    pbx = Pbx()
    pbx.action("QueueAdd", {"Queue": "support", "Interface": AGENT, "MemberName": "Ana"}, "1", pbx.now)
    pbx.advance(pbx.now + 1)
    pbx.take_queue_log()
    for action, fields, _ in QUEUE_ERRORS:
        pbx.action(action, fields, "2", pbx.now)
    assert pbx.advance(pbx.now + 1) == [] and pbx.take_queue_log() == []
    assert [(m.name, m.penalty, m.paused) for m in pbx.memberships(AGENT)] == [("Ana", 0, False)]


def test_queue_add_takes_a_bad_penalty_as_zero_and_queue_penalty_reads_it_as_atoi_does() -> None:
    pbx = Pbx()
    assert _answer(pbx, "QueueAdd", {"Queue": "support", "Interface": AGENT, "Penalty": "-3"})[0] == "Success"
    assert (
        _answer(pbx, "QueueAdd", {"Queue": "support-l2", "Interface": AGENT, "Penalty": "x"})[0] == "Success"
    )
    assert [m.penalty for m in pbx.memberships(AGENT)] == [0, 0]
    # no Queue: every queue of the interface; "7 please" is 7 and "high" is 0, as atoi reads them
    assert _answer(pbx, "QueuePenalty", {"Interface": AGENT, "Penalty": "7 please"}) == (
        "Success",
        "Interface penalty set successfully",
    )
    assert [m.penalty for m in pbx.memberships(AGENT)] == [7, 7]
    assert (
        _answer(pbx, "QueuePenalty", {"Interface": AGENT, "Queue": "support", "Penalty": "high"})[0]
        == "Success"
    )
    assert [m.penalty for m in pbx.memberships(AGENT)] == [0, 7]


def test_c_int_reads_numbers_as_sscanf_does() -> None:
    assert [c_int(s) for s in ("12", " 12", "+3", "-4", "7x", "x7", "", " ")] == [
        12,
        12,
        3,
        -4,
        7,
        None,
        None,
        None,
    ]


def test_channel_actions_on_live_channels() -> None:
    pbx, caller, agent, _ = _in_a_call()
    # Setvar on a live channel sets it there and says so as VarSet of that channel
    assert _answer(pbx, "Setvar", {"Channel": caller, "Variable": "TICKET", "Value": "42"}) == (
        "Success",
        "Variable Set",
    )
    (varset,) = [e for e in pbx.advance(pbx.now) if e.name == "VarSet"]
    assert (dict(varset.headers)["Channel"], dict(varset.headers)["Variable"]) == (caller, "TICKET")
    # Redirect moves only the caller; Asterisk's generic refusal for any other live channel here
    fields = {"Channel": agent, "Context": "transfer", "Exten": "700", "Priority": "1"}
    assert _answer(pbx, "Redirect", fields) == ("Error", "Redirect failed")
    # Atxfer on the caller's side queues DTMF nobody acts on: acked, nothing changes
    assert _answer(pbx, "Atxfer", {"Channel": caller, "Exten": "700"}) == (
        "Success",
        "Atxfer successfully queued",
    )
    assert not [e for e in pbx.advance(pbx.now + 1) if e.name in ("AttendedTransfer", "AgentComplete")]


def test_blind_transfer_of_a_channel_in_no_call_is_invalid() -> None:
    pbx = Pbx()
    pbx.action(
        "Originate", {"Channel": "Local/600@support/n", "Application": "Wait", "Async": "true"}, "4", pbx.now
    )
    pbx.advance(pbx.now + 0.1)
    assert pbx.live, "the new call's channels are up, in no bridge yet"
    for chan in list(pbx.live.values()):
        assert _answer(pbx, "BlindTransfer", {"Channel": chan.name, "Exten": "700"}) == (
            "Error",
            "Transfer invalid",
        )


def test_async_originate_of_a_channel_the_simulator_cannot_place_fails_in_its_response() -> None:
    pbx = Pbx()
    fields = {"Channel": "PJSIP/elsewhere", "Application": "Wait", "Async": "yes"}
    assert _answer(pbx, "Originate", fields) == ("Success", "Originate successfully queued")
    (response,) = [e for e in pbx.advance(pbx.now + 1) if e.name == "OriginateResponse"]
    assert response.action_id == "7"
    h = dict(response.headers)
    assert (h["Response"], h["Channel"], h["Reason"], h["Uniqueid"]) == (
        "Failure",
        "PJSIP/elsewhere",
        "0",
        "<null>",
    )
