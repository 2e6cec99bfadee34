"""Value sets stored in the schema. They travel as English codes; pages show the Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    received = "received"
    dispatched = "dispatched"
    in_progress = "in_progress"
    replied = "replied"
    rework = "rework"
    closed = "closed"
    merged = "merged"
    rejected = "rejected"


class CaseKind(StrEnum):
    citizen = "citizen"
    deputy_suggestion = "deputy_suggestion"


class RequestType(StrEnum):
    enquiry = "enquiry"
    help = "help"
    complaint = "complaint"
    report = "report"
    suggestion = "suggestion"


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"
    critical = "critical"


class AssignmentRole(StrEnum):
    lead = "lead"
    co = "co"
    separate = "separate"


class AssignmentStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    replied = "replied"
    # Taken off the case by a dispatcher (a merge, a rejection or a redispatch); kept as history.
    withdrawn = "withdrawn"


# Assignments whose department no longer handles the case: it declined, or a dispatcher withdrew it.
GONE_ASSIGNMENT_STATUSES: tuple[str, ...] = (AssignmentStatus.declined, AssignmentStatus.withdrawn)


class ReplyClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class CategorySource(StrEnum):
    """Who chose a case's category: the submitter, the classifier, or a dispatcher."""

    citizen = "citizen"
    system = "system"
    dispatcher = "dispatcher"


class QueueReason(StrEnum):
    """Why a case waits in the dispatch queue for a person."""

    no_rule = "no_rule"
    declined = "declined"
    low_confidence = "low_confidence"
    flagged = "flagged"
    # Returned to the citizen for more detail (退回补充): it waits for their answer, not for a dispatcher.
    awaiting_citizen = "awaiting_citizen"


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class FollowUpStatus(StrEnum):
    """A revisit (回头看) after closing: waiting, its result recorded, or moot (the case was reopened)."""

    pending = "pending"
    done = "done"
    cancelled = "cancelled"


class FollowUpReason(StrEnum):
    """Why a closed case is revisited: its category asks for it, or it was under key supervision."""

    category = "category"
    key = "key"


class Rating(StrEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    dissatisfied = "dissatisfied"


class FeedbackSource(StrEnum):
    citizen = "citizen"
    deputy = "deputy"


class Role(StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    department = "department"
    deputy = "deputy"
    integrator = "integrator"


class StationKind(StrEnum):
    home = "home"
    station = "station"
    point = "point"


class DeputyLevel(StrEnum):
    national = "national"
    provincial = "provincial"
    city = "city"
    county = "county"
    township = "township"


class IntakeCodeOwner(StrEnum):
    deputy = "deputy"
    station = "station"


class IntakeCodeStatus(StrEnum):
    active = "active"
    revoked = "revoked"


class DeadlineKind(StrEnum):
    accept = "accept"
    decline = "decline"
    reply = "reply"
    co_opinion = "co_opinion"
    rating = "rating"


class CalendarSource(StrEnum):
    """Where a working-day override came from: a loaded official schedule (replaced when its year is loaded
    again) or the jurisdiction's own hand edit (kept)."""

    official = "official"
    local = "local"


class SupervisionLevel(StrEnum):
    """The escalation ladder, lowest first: 催办 reminder, 督办 formal, 重点督办 key."""

    reminder = "reminder"
    formal = "formal"
    key = "key"


class SupervisionSource(StrEnum):
    """Who moved a case up the ladder: the alarm scan (an overdue deadline) or a supervisor."""

    auto = "auto"
    manual = "manual"


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class EndpointKind(StrEnum):
    integrator = "integrator"
    internal = "internal"


EVENT_TYPES: tuple[str, ...] = (
    "case.received",
    "case.dispatched",
    "case.accepted",
    "case.declined",
    "case.progress",
    "case.replied",
    "case.feedback",
    "case.rework",
    "case.closed",
    "case.due_soon",
    "case.overdue",
    "case.supervision_changed",
    "case.merged",
    "case.unmerged",
    "case.rejected",
    "case.returned",
    "case.supplemented",
    "case.extension_requested",
    "case.extension_decided",
    "case.deadline_changed",
    "case.follow_up_recorded",
    "case.adopted",
    "suggestion.submitted",
    "reception.recorded",
    "hotspot.detected",
    # An integrator's endpoint the relay disabled (410 Gone, or failing for days); never about a case.
    "webhook.disabled",
)


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL CHECK text restricting a text column to an enumeration's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class ConsultationMode(StrEnum):
    """How a department consulted the deputy before replying to a suggestion (面商/沟通)."""

    face = "face"  # 面商
    phone = "phone"  # 电话
    written = "written"  # 书面


class SuggestionSourceKind(StrEnum):
    """Why a citizen's case is linked to a deputy suggestion: the deputy adopted it, or it was in a hot spot."""

    adopted = "adopted"
    hotspot = "hotspot"


class DeputyNoticeKind(StrEnum):
    """What a deputy is told on their desk: a suggestion they wrote or co-signed was replied."""

    replied = "replied"


class ContactDayChangeKind(StrEnum):
    """An exception to a contact-day rule: a date added, or a date the rule gives cancelled."""

    added = "added"
    cancelled = "cancelled"


class HolidayRule(StrEnum):
    """What a contact day that falls on a statutory holiday does: moves a week later, is skipped, or stays."""

    postpone = "postpone"
    skip = "skip"
    keep = "keep"


class DutyAction(StrEnum):
    """What earns a deputy duty points (履职积分); each rule's points are a jurisdiction setting."""

    reception = "reception"  # attended a reception at a station
    case_raised = "case_raised"  # a citizen's case came in through their code
    suggestion_submitted = "suggestion_submitted"
    suggestion_cosigned = "suggestion_cosigned"
    rating_given = "rating_given"  # rated a department's reply to their suggestion
    follow_up = "follow_up"  # recorded a follow-up visit (回头看)
    adjustment = "adjustment"  # an admin's manual correction, with a reason


class MetricDim(StrEnum):
    """What a row of the daily metrics rollup (metric_days) is about: the whole jurisdiction, or one value
    of one dimension (its id in ``key``; a month or week is summed from days)."""

    all = "all"
    department = "department"
    category = "category"  # the sub-category a case was filed under (or a top level without subs)
    top_category = "top_category"
    committee = "committee"
    station = "station"
    deputy = "deputy"
    grid = "grid"
    # Pairs a dashboard filter asks for: a department with a top-level category (key2) or a grid (key2).
    department_top_category = "department_top_category"
    department_grid = "department_grid"


class HotspotStatus(StrEnum):
    """A cluster of cases on one matter in one grid: open while cases keep coming, converted into a deputy
    suggestion, or closed when the window passed without new cases."""

    open = "open"
    converted = "converted"
    closed = "closed"
