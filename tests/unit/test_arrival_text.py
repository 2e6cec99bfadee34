"""What the classifier reads of a case: a citizen's supplements come before a long original description,
since the classifier reads only a text's head."""

from __future__ import annotations

from services.routing.desk.arrival import _text
from shared.db.models import Case


def test_supplements_are_read_first_newest_first() -> None:
    case = Case(
        title="反映问题",
        description="很长的原始描述" * 100 + "\n【补充说明】第一次补充" + "\n【补充说明】是楼下饭店油烟太大",
    )
    text = _text(case)
    assert text.startswith("反映问题\n是楼下饭店油烟太大\n第一次补充\n很长的原始描述")
    assert "【补充说明】" not in text


def test_a_case_without_supplements_reads_title_then_description() -> None:
    assert _text(Case(title=None, description="路灯坏了")) == "路灯坏了"
