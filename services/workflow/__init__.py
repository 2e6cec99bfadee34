"""The case state machine shared by all three services: every change of a case's state goes through here."""

from services.workflow.actors import SYSTEM, Actor
from services.workflow.errors import IllegalTransition
from services.workflow.merging import main_awaits_rating, mark_merged, mark_unmerged, rate_merged, reporters
from services.workflow.service import (
    case_payload,
    change_status,
    jurisdiction_code,
    open_case,
    rate,
    record_event,
    withdraw,
)
from services.workflow.states import TRANSITIONS, can_transition

__all__ = [
    "SYSTEM",
    "TRANSITIONS",
    "Actor",
    "IllegalTransition",
    "can_transition",
    "case_payload",
    "change_status",
    "jurisdiction_code",
    "main_awaits_rating",
    "mark_merged",
    "mark_unmerged",
    "open_case",
    "rate",
    "rate_merged",
    "record_event",
    "reporters",
    "withdraw",
]
