"""The case state machine's table, without a database."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.workflow.states import TRANSITIONS, can_transition
from shared.db.enums import CaseStatus

STATUSES = [s.value for s in CaseStatus]


def test_the_happy_path_and_rework_are_legal() -> None:
    path = ["received", "dispatched", "in_progress", "replied", "rework", "replied", "closed", "rework"]
    assert all(can_transition(a, b) for a, b in itertools.pairwise(path))


def test_illegal_moves_are_refused() -> None:
    for from_status, to_status in [
        ("received", "replied"),
        ("received", "closed"),
        ("dispatched", "closed"),
        ("replied", "dispatched"),
        ("closed", "received"),
        ("merged", "replied"),
        ("merged", "closed"),
        ("rejected", "dispatched"),
        ("in_progress", "in_progress"),
    ]:
        assert not can_transition(from_status, to_status), (from_status, to_status)


def test_unknown_statuses_are_refused() -> None:
    assert not can_transition("received", "archived")
    assert not can_transition("lost", "received")


def test_rejected_is_final_and_an_unmerge_returns_only_to_a_state_before_the_reply() -> None:
    assert TRANSITIONS[CaseStatus.rejected] == frozenset()
    assert TRANSITIONS[CaseStatus.merged] == {"received", "dispatched", "in_progress"}


@given(st.lists(st.sampled_from(STATUSES), max_size=30))
def test_a_walk_of_legal_moves_never_reaches_received_after_a_reply(walk: list[str]) -> None:
    """Whatever order moves are attempted in, once replied a case never goes back to the dispatch queue."""
    state, replied = "received", False
    for target in walk:
        if can_transition(state, target):
            state = target
            replied = replied or state == "replied"
        assert not (replied and state in ("received", "dispatched", "in_progress"))
