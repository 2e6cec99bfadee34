"""Data shapes of the duplicate search and of merging: what the dispatcher sends and gets back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.db.ids import DbId


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_case_id: DbId = Field(description="The main case that goes on handling the matter")


class SimilarWhy(BaseModel):
    """Why a case came up: each signal that the score counted."""

    shared_words: list[str] = Field(description="Words both texts use, the most distinctive first")
    same_grid: bool
    same_station: bool
    same_category: bool
    distance_m: int | None = Field(description="Metres between the two, when both have coordinates")


class SimilarVia(BaseModel):
    """The merged case whose text matched: the candidate shown is the main case it was merged into."""

    case_id: int
    tracking_no: str


class SimilarCase(BaseModel):
    case_id: int
    tracking_no: str
    status: str
    created_at: datetime
    category_code: str | None
    grid_code: str | None
    station_id: int | None
    score: float = Field(ge=0, le=1, description="0..1; text similarity weighs most")
    why: SimilarWhy
    via: SimilarVia | None = Field(
        None,
        description="Set when a case already merged into this one matched better: `score` and `why` are then "
        "that case's",
    )


class SimilarCases(BaseModel):
    case_id: int
    tracking_no: str
    window_days: int = Field(description="Candidates were created this many days before or after the case")
    items: list[SimilarCase] = Field(description="Best first")


class MergedAssignment(BaseModel):
    id: int
    department_id: int
    role: str
    status: str


class MergeState(BaseModel):
    """A case after a merge or an unmerge."""

    case_id: int
    tracking_no: str
    status: str
    duplicate_of_id: int | None = Field(description="The main case while merged")
    duplicate_of_tracking_no: str | None
    merged_at: datetime | None
    unmerge_until: datetime | None = Field(description="Until when the merge can be undone")
    main_reporters: int = Field(description="N 位群众反映 of the main case (the case itself once unmerged)")
    assignments: list[MergedAssignment] = Field(
        description="The case's assignments: withdrawn by a merge, back as they were after an unmerge"
    )
