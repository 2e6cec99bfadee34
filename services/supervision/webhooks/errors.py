"""Errors of integrators' and departments' webhooks."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    message = "未找到该投递记录"


class DeliveryPending(Conflict):
    code = "delivery_pending"
    message = "该投递尚在等待发送，无需重发"


class WebhookDisabled(Conflict):
    code = "webhook_disabled"
    message = "该回调地址已停用，请先启用再补发"


class WebhookLimitReached(Conflict):
    code = "webhook_limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(f"每个访问密钥最多创建 {limit} 个回调地址，请先删除不再使用的回调地址")


class CreatorKeyRevoked(Conflict):
    code = "webhook_key_revoked"
    message = "创建该回调的密钥已被吊销，不能重新启用；请用有效的密钥另行创建"
