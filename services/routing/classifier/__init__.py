"""The text classifier of the dispatcher's desk: which category a citizen's text is about.

The public API the arrival flow and manual dispatch use; everything else is the package's own.
"""

from __future__ import annotations

from services.routing.classifier.examples import record_correction
from services.routing.classifier.schemas import Candidate, Classification
from services.routing.classifier.service import classify
from services.routing.classifier.store import mark_stale

__all__ = ["Candidate", "Classification", "classify", "mark_stale", "record_correction"]
