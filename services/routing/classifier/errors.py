"""Errors of the classifier's administration: a lexicon or an import that cannot be taken as sent."""

from __future__ import annotations

from shared.errors import Unprocessable


class DuplicateTerm(Unprocessable):
    """The same term twice in one lexicon (compared as the classifier compares them: case and full-width
    letters do not count)."""

    code = "duplicate_term"

    def __init__(self, index: int, term: str) -> None:
        message = f"词语“{term}”重复"
        super().__init__(message, details=[{"field": f"terms.{index}.term", "message": message}])


class UnknownCategoryCode(Unprocessable):
    code = "unknown_category_code"

    def __init__(self, index: int, category_code: str) -> None:
        message = f"问题分类“{category_code}”不存在"
        super().__init__(message, details=[{"field": f"examples.{index}.category_code", "message": message}])
