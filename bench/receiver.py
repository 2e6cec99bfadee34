"""The integrator's endpoint for the pipeline benchmark, run as its own process:

    python -m bench.receiver --port PORT        (secret in BENCH_WEBHOOK_SECRET)

It verifies every delivery with the `standardwebhooks` package, records the first arrival time of each
case's `case.dispatched` (by tracking number and case id), counts bad signatures and duplicates, and
answers ``GET /stats`` with what it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Receiver:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.arrivals: dict[str, float] = {}  # tracking_no -> first arrival (epoch seconds)
        self.case_ids: dict[str, int] = {}
        self.seen_ids: set[str] = set()
        self.total = 0
        self.bad_signatures = 0
        self.duplicates = 0
        self.other_types = 0

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        now = time.time()
        self.total += 1
        try:
            self.webhook.verify(body, headers)
        except WebhookVerificationError:
            self.bad_signatures += 1
            return 400
        message_id = headers.get("webhook-id", "")
        if message_id in self.seen_ids:
            self.duplicates += 1
            return 204
        self.seen_ids.add(message_id)
        event = json.loads(body)
        if event.get("type") != "case.dispatched":
            self.other_types += 1
            return 204
        data = event.get("data", {})
        tracking_no = str(data.get("tracking_no"))
        self.arrivals.setdefault(tracking_no, now)
        if isinstance(data.get("case_id"), int):
            self.case_ids[tracking_no] = data["case_id"]
        return 204

    def stats(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "bad_signatures": self.bad_signatures,
            "duplicates": self.duplicates,
            "other_types": self.other_types,
            "arrivals": self.arrivals,
            "case_ids": self.case_ids,
        }

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        for _ in range(10_000):
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["method"] == "GET" and scope["path"] == "/stats":
            status, payload = 200, json.dumps(self.stats()).encode()
        elif scope["method"] == "GET" and scope["path"] == "/readyz":
            status, payload = 200, b"{}"
        elif scope["method"] == "POST":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            status, payload = self.handle(headers, b"".join(chunks)), b""
        else:
            status, payload = 404, b""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Receiver(os.environ["BENCH_WEBHOOK_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
