"""Data shapes of the classifier: what the arrival flow and the desk get back from a classification, and the
bodies of the classify, lexicon, example-import and status endpoints (validated, with Chinese messages)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.routing.schemas import CategoryCode

# The longest text classified: a case's description is at most 4,000 characters.
MAX_TEXT = 4000
MAX_TERMS = 500
MAX_IMPORT = 1000
MIN_WEIGHT, MAX_WEIGHT = 0.1, 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are fine


@dataclass(frozen=True)
class Candidate:
    """An assignable category for a text: ``score`` in [0, 1] behaves like the probability that it is the
    right one (a text without evidence scores low); ``matched`` are the words that spoke for it."""

    category_id: int
    category_code: str
    name: str
    score: float
    matched: list[str]


@dataclass(frozen=True)
class Classification:
    """The ranked candidates, best first, and the revision of the model that ranked them."""

    revision: int
    candidates: list[Candidate]


def _text(value: str) -> str:
    if not value:
        raise ValueError("请输入要分类的文字")
    if len(value) > MAX_TEXT:
        raise ValueError(f"文字不能超过 {MAX_TEXT} 个字（现有 {len(value)} 个字）")
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("不能包含控制字符")
    return value


def _term(value: str) -> str:
    if not value:
        raise ValueError("词语不能为空")
    if len(value) > 32:
        raise ValueError("词语不能超过 32 个字")
    if _CONTROL.search(value):
        raise ValueError("词语不能包含换行或控制字符")
    return value


# Lengths are checked in the validators (not with Field) so that the messages say what is wrong.
ClassifyText = Annotated[str, AfterValidator(_text)]
Term = Annotated[str, AfterValidator(_term)]
Weight = Annotated[float, Field(ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClassifyIn(_Input):
    text: ClassifyText


class CandidateOut(BaseModel):
    category_code: str
    name: str
    score: float
    matched: list[str]


class TermIn(_Input):
    term: Term
    weight: Weight = 1.0


class LexiconIn(_Input):
    terms: Annotated[list[TermIn], Field(max_length=MAX_TERMS)]


class TermOut(BaseModel):
    term: str
    weight: float


class LexiconOut(BaseModel):
    category_id: int
    category_code: str
    terms: list[TermOut]


class ExampleIn(_Input):
    category_code: CategoryCode
    text: ClassifyText


class ExamplesIn(_Input):
    examples: Annotated[list[ExampleIn], Field(min_length=1, max_length=MAX_IMPORT)]


class ExamplesImported(BaseModel):
    imported: int


class ClassifierOut(BaseModel):
    """The jurisdiction's model: ``revision`` 0 and ``built_at`` null until it is first built."""

    revision: int
    stale: bool
    built_at: datetime | None
    facts: dict[str, Any]
