"""Sharing a physical device between users (KB2481): the three prerequisites, the seed's error
messages, compliance approval, cancellation."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_bridge.policies.devices import PROTECTION_LEVEL, HeldDevice
from host_bridge.policies.sharing import (
    DIFFERENT_IDENTIFICATION,
    IB_KEY_ADD_USER,
    LESS_SECURE_DEVICE,
    TEMPORARY_DEVICE,
    TRANSITIONS,
    Identification,
    Participant,
    ShareEvent,
    ShareRequest,
    ShareState,
    decide_share,
    next_state,
)

ALICE_ID = Identification(
    date_of_birth=date(1970, 5, 17),
    citizenship="IT",
    residence="CH",
    id_type="passport",
    id_number="YA1234567",
)
BOB_ID = Identification(
    date_of_birth=date(1981, 2, 3),
    citizenship="DE",
    residence="DE",
    id_type="id card",
    id_number="L01X00T47",
)
US_ID = Identification(
    date_of_birth=date(1965, 1, 1), citizenship="US", residence="US", ssn="078-05-1120"
)

DSCPLUS = HeldDevice("DP0000000001", "dscplus")
SCC = HeldDevice("SC0000000001", "scc")


def person(user: str, entity: str, ident: Identification, *devices: HeldDevice) -> Participant:
    return Participant(user, entity, ident, tuple(devices))


def test_same_entity_sharing_the_dscplus_is_approved_at_once() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("alice2", "E1", ALICE_ID, SCC)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester))
    assert decision.state is ShareState.APPROVED
    assert decision.redundant == (SCC.serial,)


def test_same_entity_needs_no_matching_identification() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("bob", "E1", BOB_ID)
    assert decide_share(ShareRequest(DSCPLUS.serial, owner, requester)).state is ShareState.APPROVED


def test_different_entities_same_identification_wait_for_compliance() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("alice-ira", "E2", ALICE_ID, SCC)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester))
    assert decision.state is ShareState.PENDING
    assert decision.allowed


def test_compliance_rule_is_configurable() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("alice-ira", "E2", ALICE_ID)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester), lambda r: False)
    assert decision.state is ShareState.APPROVED


def test_different_identification_information() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("bob", "E2", BOB_ID)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester))
    assert decision.state is ShareState.REFUSED
    assert decision.reason == "Different identification information"
    assert decision.reason == DIFFERENT_IDENTIFICATION
    # Identification data never appears in the answer.
    assert ALICE_ID.id_number is not None and ALICE_ID.id_number not in decision.detail
    assert BOB_ID.id_number is not None and BOB_ID.id_number not in repr(decision)


@pytest.mark.parametrize(
    "field",
    ["date_of_birth", "citizenship", "residence", "id_type", "id_number"],
)
def test_every_identification_field_must_match(field: str) -> None:
    value: Any = date(1970, 5, 18) if field == "date_of_birth" else "other"
    changed = dataclasses.replace(ALICE_ID, **{field: value})
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("alice-ira", "E2", changed)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester))
    assert decision.reason == DIFFERENT_IDENTIFICATION


def test_identification_compares_ignoring_case_and_spacing() -> None:
    loose = dataclasses.replace(ALICE_ID, citizenship=" it ", id_type="Passport")
    assert ALICE_ID.matches(loose)


def test_us_persons_are_identified_by_ssn() -> None:
    other_doc = dataclasses.replace(US_ID, id_type="passport", id_number="123")
    assert US_ID.matches(other_doc)
    assert not US_ID.matches(dataclasses.replace(US_ID, ssn="078-05-1121"))
    assert not Identification().matches(Identification())


def test_less_secure_device() -> None:
    owner = person("alice", "E1", ALICE_ID, SCC)
    requester = person("alice2", "E1", ALICE_ID, DSCPLUS)
    decision = decide_share(ShareRequest(SCC.serial, owner, requester))
    assert decision.state is ShareState.REFUSED
    assert decision.reason == "Less secure device"
    assert decision.reason == LESS_SECURE_DEVICE
    assert DSCPLUS.serial in decision.detail


def test_owner_holding_a_stronger_device_must_share_that_one() -> None:
    owner = person("alice", "E1", ALICE_ID, SCC, DSCPLUS)
    requester = person("alice2", "E1", ALICE_ID)
    assert decide_share(ShareRequest(SCC.serial, owner, requester)).reason == LESS_SECURE_DEVICE


def test_equal_protection_either_may_be_shared() -> None:
    other_scc = HeldDevice("SC0000000002", "scc")
    owner = person("alice", "E1", ALICE_ID, SCC)
    requester = person("alice2", "E1", ALICE_ID, other_scc)
    assert decide_share(ShareRequest(SCC.serial, owner, requester)).state is ShareState.APPROVED


def test_inactive_and_non_physical_devices_do_not_count_for_protection() -> None:
    owner = person("alice", "E1", ALICE_ID, SCC)
    requester = person(
        "alice2",
        "E1",
        ALICE_ID,
        HeldDevice("DP0000000009", "dscplus", active=False),
        HeldDevice("IK0000000001", "ibkey"),
    )
    decision = decide_share(ShareRequest(SCC.serial, owner, requester))
    assert decision.state is ShareState.APPROVED
    assert decision.redundant == ()


@pytest.mark.parametrize("model", ["temporary", "online_scc"])
def test_participant_with_a_temporary_device_is_refused(model: str) -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    requester = person("alice2", "E1", ALICE_ID, HeldDevice("TMP1", model))
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester))
    assert decision.reason == TEMPORARY_DEVICE
    assert "alice2" in decision.detail


def test_temporary_flag_marks_a_temporary_record() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS, HeldDevice("SC9", "scc", temporary=True))
    requester = person("alice2", "E1", ALICE_ID)
    assert decide_share(ShareRequest(DSCPLUS.serial, owner, requester)).reason == TEMPORARY_DEVICE


def test_ib_key_uses_add_user() -> None:
    ibkey = HeldDevice("IK0000000001", "ibkey")
    owner = person("alice", "E1", ALICE_ID, ibkey)
    requester = person("alice2", "E1", ALICE_ID)
    decision = decide_share(ShareRequest(ibkey.serial, owner, requester))
    assert decision.reason == IB_KEY_ADD_USER
    assert "Add user" in decision.reason


def test_co_users_are_participants_too() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    co_user = person("carol", "E1", BOB_ID, HeldDevice("TMP9", "temporary"))
    requester = person("alice2", "E1", ALICE_ID)
    decision = decide_share(ShareRequest(DSCPLUS.serial, owner, requester, (co_user,)))
    assert decision.reason == TEMPORARY_DEVICE


def test_request_misuse() -> None:
    owner = person("alice", "E1", ALICE_ID, DSCPLUS)
    with pytest.raises(ValueError):
        ShareRequest(DSCPLUS.serial, owner, owner)
    with pytest.raises(ValueError):
        ShareRequest("DP404", owner, person("bob", "E1", BOB_ID))


def test_transitions() -> None:
    assert next_state(ShareState.PENDING, ShareEvent.APPROVE) is ShareState.APPROVED
    assert next_state(ShareState.PENDING, ShareEvent.REFUSE) is ShareState.REFUSED
    assert next_state(ShareState.PENDING, ShareEvent.CANCEL) is ShareState.CANCELLED
    assert next_state(ShareState.APPROVED, ShareEvent.CANCEL) is ShareState.CANCELLED


@settings(max_examples=50)
@given(st.sampled_from(list(ShareState)), st.sampled_from(list(ShareEvent)))
def test_every_event_has_an_answer_or_a_value_error(state: ShareState, event: ShareEvent) -> None:
    if (state, event) in TRANSITIONS:
        assert next_state(state, event) is TRANSITIONS[(state, event)]
    else:
        with pytest.raises(ValueError):
            next_state(state, event)


physical = st.sampled_from(["dscplus", "platinum", "gold", "dsc", "scc"])


@settings(max_examples=100)
@given(st.lists(physical, min_size=1, max_size=4), st.lists(physical, max_size=4))
def test_sharing_allowed_only_for_a_device_of_the_highest_level(
    owner_models: list[str], requester_models: list[str]
) -> None:
    owner_devices = [HeldDevice(f"O{i}", m) for i, m in enumerate(owner_models)]
    requester_devices = [HeldDevice(f"R{i}", m) for i, m in enumerate(requester_models)]
    owner = person("alice", "E1", ALICE_ID, *owner_devices)
    requester = person("alice2", "E1", ALICE_ID, *requester_devices)
    top = max(PROTECTION_LEVEL[m] for m in owner_models + requester_models)
    for device in owner_devices:
        decision = decide_share(ShareRequest(device.serial, owner, requester))
        assert decision.allowed == (PROTECTION_LEVEL[device.model] == top)
        if not decision.allowed:
            assert decision.reason == LESS_SECURE_DEVICE
