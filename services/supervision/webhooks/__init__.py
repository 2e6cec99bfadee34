"""Integrators' and departments' webhook endpoints: subscription (endpoints), secrets (rotation), the delivery
log (deliveries) and sending events again (replay)."""

from services.supervision.webhooks.deliveries import delivery_out, list_deliveries
from services.supervision.webhooks.endpoints import (
    check_url,
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    update_webhook,
)
from services.supervision.webhooks.replay import Recovered, recover, resend
from services.supervision.webhooks.rotation import rotate_secret

__all__ = [
    "Recovered",
    "check_url",
    "create_webhook",
    "delete_webhook",
    "delivery_out",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "recover",
    "resend",
    "rotate_secret",
    "update_webhook",
]
