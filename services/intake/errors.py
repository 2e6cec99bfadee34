"""Errors of the intake domain; each carries its HTTP status and a Chinese message (rendered by shared.web)."""

from __future__ import annotations

from typing import ClassVar

from shared.errors import Conflict, MinyiError, NotFound, Unprocessable


class StationNotFound(NotFound):
    code = "station_not_found"
    message = "未找到该联络站"


class StationCodeTaken(Conflict):
    code = "station_code_taken"

    def __init__(self, station_code: str) -> None:
        message = f"公开编码“{station_code}”已被其他联络站使用，请换一个"
        super().__init__(message, details=[{"field": "code", "message": message}])


class DeputyNotFound(NotFound):
    code = "deputy_not_found"
    message = "未找到该代表"


class IntakeCodeNotFound(NotFound):
    code = "intake_code_not_found"
    message = "未找到该二维码，请确认扫描的是人大代表或联络站的二维码"


class IntakeCodeGone(MinyiError):
    """A revoked code, or the code of a deputy or station no longer active: it accepts nothing."""

    status_code: ClassVar[int] = 410
    code: ClassVar[str] = "intake_code_gone"
    message: ClassVar[str] = (
        "该二维码已停止使用，不再接收反映。如需反映问题，请联系所在社区或人大代表联络站。"
    )


class IntakeCodeRevoked(Conflict):
    code = "intake_code_revoked"
    message = "该二维码已停用，不能更换"


class NoPostersToPrint(Conflict):
    code = "no_posters_to_print"
    message = "该联络站及其代表暂无在用的二维码，请先生成二维码"


class IntakeCodeReplaced(IntakeCodeGone):
    """A token rotation retired: the poster carrying it was superseded by one with the code's new token."""

    code: ClassVar[str] = "intake_code_replaced"
    message: ClassVar[str] = "该二维码已更换，请扫描新的二维码"


class CaseNotFound(NotFound):
    """Unknown tracking number and wrong or missing access key look the same, so neither can be probed."""

    code = "case_not_found"
    message = "未找到该受理编号，或查询链接不完整"


class NotAwaitingSupplement(Conflict):
    code = "not_awaiting_supplement"
    message = "该事项目前无需补充说明"


class IdempotencyKeyReused(Unprocessable):
    """An Idempotency-Key already used on this code with a different body: answering with the earlier case
    would hand one submitter another's tracking number, and making a new case would break the key's promise."""

    code = "idempotency_key_reused"
    message = "该 Idempotency-Key 已用于另一份不同的提交，请为新的提交使用新的 Idempotency-Key"

    def __init__(self) -> None:
        super().__init__(details=[{"field": "Idempotency-Key", "message": self.message}])


class FieldErrors:
    """Collects per-field problems found against the database and raises them together."""

    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.details:
            raise Unprocessable(details=list(self.details))


class PhotoTooLarge(MinyiError):
    status_code: ClassVar[int] = 413
    code: ClassVar[str] = "photo_too_large"
    message: ClassVar[str] = "照片文件过大"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"照片文件过大，每张不能超过 {max_bytes / (1024 * 1024):g} MB")


class PhotoTooManyPixels(MinyiError):
    """A decompression bomb, or a picture far larger than any phone takes: refused before it is decoded."""

    status_code: ClassVar[int] = 413
    code: ClassVar[str] = "photo_too_many_pixels"
    message: ClassVar[str] = "照片尺寸过大（像素过多），无法处理，请换一张照片"


class PhotoUnreadable(Unprocessable):
    code = "photo_unreadable"
    message = "无法识别该文件，请上传 JPEG、PNG、WebP 或 HEIC 格式的照片"


class PhotoNotUsable(Unprocessable):
    """An upload token unknown on this code, already attached to a case, or expired: all look the same."""

    code = "photo_not_usable"
    message = "照片不存在、已使用或已过期，请重新上传"
