"""Errors of hot spots."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound


class HotspotNotFound(NotFound):
    """Unknown, another jurisdiction's, or (for a deputy) of a grid none of the deputy's stations serves."""

    code = "hotspot_not_found"
    message = "未找到该热点"


class DeputyKeyWithoutDeputy(Forbidden):
    code = "deputy_key_without_deputy"
    message = "该密钥未关联人大代表，不能查看热点"
