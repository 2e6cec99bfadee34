"""The shared schema. Each module names the service that owns (writes) its tables."""

from shared.db.models.audit import ContactAudit, ContactSettings
from shared.db.models.base import Base
from shared.db.models.coordination import (
    DifficultCase,
    DifficultCaseStatus,
    Fund,
    FundAllocation,
    FundSpending,
)
from shared.db.models.deputy_work import CaseCosigner, Consultation, DeputyNotice, SuggestionSource
from shared.db.models.desk import (
    CaseClassification,
    CaseSearchTerms,
    ClassifierExample,
    ClassifierModel,
    ClassifierTerm,
    ExtensionRequest,
    RoutingSettings,
)
from shared.db.models.duty_points import DutyPointEntry, DutyPointRule
from shared.db.models.events import InboxMessage, OutboxEvent, WebhookDelivery
from shared.db.models.follow_ups import FollowUp
from shared.db.models.intake import (
    Deputy,
    IntakeCode,
    RetiredIntakeToken,
    Station,
    TrackingCounter,
    deputy_stations,
    station_grids,
)
from shared.db.models.key_items import KeyCheckRating, KeyCheckStage, KeyItem, KeyItemCheck
from shared.db.models.limits import RateLimitWindow
from shared.db.models.metrics import (
    DashboardSession,
    Hotspot,
    MetricDay,
    MetricDirtyDay,
    MetricSettings,
    hotspot_cases,
)
from shared.db.models.oversight import SupervisionChange
from shared.db.models.photos import Photo
from shared.db.models.routing import (
    Assignment,
    Category,
    Committee,
    Department,
    Grid,
    Reply,
    RoutingRule,
    RoutingRuleAssignment,
)
from shared.db.models.stations_work import (
    ContactDayChange,
    ContactSchedule,
    Reception,
    RosterEntry,
    reception_cases,
    reception_deputies,
)
from shared.db.models.supervision import (
    ApiKey,
    CalendarOverride,
    CalendarYear,
    Deadline,
    SlaPolicy,
    SupervisionSettings,
    WebhookEndpoint,
)
from shared.db.models.tenancy import Jurisdiction
from shared.db.models.workflow import Case, CaseEvent, Feedback

__all__ = [
    "ApiKey",
    "Assignment",
    "Base",
    "CalendarOverride",
    "CalendarYear",
    "Case",
    "CaseClassification",
    "CaseCosigner",
    "CaseEvent",
    "CaseSearchTerms",
    "Category",
    "ClassifierExample",
    "ClassifierModel",
    "ClassifierTerm",
    "Committee",
    "Consultation",
    "ContactAudit",
    "ContactDayChange",
    "ContactSchedule",
    "ContactSettings",
    "DashboardSession",
    "Deadline",
    "Department",
    "Deputy",
    "DeputyNotice",
    "DifficultCase",
    "DifficultCaseStatus",
    "DutyPointEntry",
    "DutyPointRule",
    "ExtensionRequest",
    "Feedback",
    "FollowUp",
    "Fund",
    "FundAllocation",
    "FundSpending",
    "Grid",
    "Hotspot",
    "InboxMessage",
    "IntakeCode",
    "Jurisdiction",
    "KeyCheckRating",
    "KeyCheckStage",
    "KeyItem",
    "KeyItemCheck",
    "MetricDay",
    "MetricDirtyDay",
    "MetricSettings",
    "OutboxEvent",
    "Photo",
    "RateLimitWindow",
    "Reception",
    "Reply",
    "RetiredIntakeToken",
    "RosterEntry",
    "RoutingRule",
    "RoutingRuleAssignment",
    "RoutingSettings",
    "SlaPolicy",
    "Station",
    "SuggestionSource",
    "SupervisionChange",
    "SupervisionSettings",
    "TrackingCounter",
    "WebhookDelivery",
    "WebhookEndpoint",
    "deputy_stations",
    "hotspot_cases",
    "reception_cases",
    "reception_deputies",
    "station_grids",
]
