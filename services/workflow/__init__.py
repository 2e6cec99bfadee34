"""The case state machine shared by all three services: every change of a case's state goes through here."""

from services.workflow.actors import SYSTEM, Actor
from services.workflow.errors import IllegalTransition
from services.workflow.service import (
    case_payload,
    change_status,
    jurisdiction_code,
    open_case,
    rate,
    record_event,
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
    "open_case",
    "rate",
    "record_event",
]
