"""Drill: PostgreSQL restarts while citizens keep submitting.

A private cluster serves the whole stack. Client threads submit cases for about 18 s (each case with its own
Idempotency-Key, retried under the same key after a 503, as an app should); meanwhile the cluster is restarted
(`pg_ctl restart -m fast`) and later stopped for 3 s and started again. Every answer must be a 2xx or a 503
with the error shape, never a 500, a hang or a dropped connection; every case answered 2xx must be in the
database, once; submissions must succeed again soon after each fault without restarting anything, and the
worker must carry every accepted case on to dispatch.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.faults.conftest import (
    PrivatePostgres,
    Processes,
    bearer,
    count,
    create_database,
    eventually,
    sync_engine,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

THREADS = 4
PAUSE = 0.1  # between one thread's submissions: about 40 submissions a second in all
RECOVERY_SECONDS = 15.0  # a submission succeeds again at most this long after the database is back
DESCRIPTION = "数据库重启演练：小区绿化带树木倒伏"


@dataclass
class Answer:
    key: str
    sent_at: float
    answered_at: float
    status: int | None  # None: no HTTP answer (a transport error)
    body: Any = None
    error: str | None = None
    retry_after: str | None = None


class Submitters:
    """Threads submitting cases until stopped; each key is retried after a 503 until it gets a 2xx."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.answers: list[Answer] = []
        self.unresolved: list[str] = []  # keys still without a 2xx when the drill ended
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(THREADS)]

    def _run(self, thread_no: int) -> None:
        # A client timeout above the pool's wait and the statement timeout: a hang shows as a transport error.
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self.stopping.is_set():
                n += 1
                key = f"db-restart-{thread_no}-{n}"
                if not self._submit(client, key, f"{DESCRIPTION}（{thread_no}-{n}）"):
                    with self.lock:
                        self.unresolved.append(key)
                time.sleep(PAUSE)

    def _submit(self, client: httpx.Client, key: str, description: str) -> bool:
        body = {"category_code": "urban.greening", "description": description}
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:
                response = client.post(
                    f"/v1/public/codes/{self.token}/cases", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.HTTPError as exc:
                self._record(Answer(key, sent, time.monotonic(), None, error=repr(exc)))
                return False
            try:
                parsed = response.json()
            except ValueError:
                parsed = response.text
            retry_after = response.headers.get("retry-after")
            self._record(
                Answer(key, sent, time.monotonic(), response.status_code, parsed, retry_after=retry_after)
            )
            if response.status_code in (200, 201):
                return True
            if response.status_code != 503:
                return False
            time.sleep(0.2)
        return False

    def _record(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads), "a submitter is stuck"

    def first_success_after(self, moment: float) -> float | None:
        with self.lock:
            times = [a.answered_at for a in self.answers if a.status in (200, 201) and a.sent_at >= moment]
        return min(times, default=None)


def test_submissions_survive_database_restarts(
    private_postgres: PrivatePostgres, make_processes: Callable[..., Processes]
) -> None:
    database_url = create_database(private_postgres.url())
    # Events to our own services that failed while the database was away are retried at most 3 s apart
    # (default 60 s); a delivery whose outcome could not be written waits out its claim's lease (default
    # 60 s). Both shortened so the drill sees the backlog dispatched soon after.
    stack = make_processes(
        database_url, MINYI_INTERNAL_RETRY_MAX_SECONDS="3", MINYI_DELIVERY_LEASE_SECONDS="10"
    )
    stack.cli("migrate")
    stack.start("intake", "routing", "supervision", wait=False)  # they boot while the demo loads
    keys = stack.demo_keys()
    stack.wait_ready()
    stack.start("worker")
    with stack.client("intake") as intake:
        codes = intake.get("/v1/intake-codes", headers=bearer(keys["admin"])).json()["items"]
        token = codes[0]["token"]
        first = intake.post(
            f"/v1/public/codes/{token}/cases",
            json={"category_code": "urban.greening", "description": f"{DESCRIPTION}（开始前）"},
        )
        assert first.status_code == 201, first.text
    engine = sync_engine(database_url)
    try:
        # The whole pipeline runs (the worker is up) before the first fault.
        dispatched = "SELECT count(*) FROM cases WHERE tracking_no = ANY(:nos) AND status = 'dispatched'"
        eventually(
            lambda: count(engine, dispatched, nos=[first.json()["tracking_no"]]) == 1,
            timeout=60,
            what="the first case dispatched",
        )
        submitters, accepted = _drill(private_postgres, stack.urls["intake"], token)
        for name in ("intake", "routing", "supervision", "worker"):
            assert stack.alive(name), f"{name} exited (see {stack.log_dir})"

        with engine.connect() as conn:
            stored = set(
                conn.scalars(
                    text("SELECT tracking_no FROM cases WHERE description LIKE :prefix"),
                    {"prefix": f"{DESCRIPTION}（%-%）"},
                )
            )
        # Every case answered 2xx is in the database; a key without a 2xx made at most one case (a commit
        # whose answer was lost with its connection).
        assert set(accepted.values()) <= stored
        assert len(stored) - len(accepted) <= len(submitters.unresolved)

        # The worker and the services got over the restarts too: every accepted case is dispatched.
        eventually(
            lambda: count(engine, dispatched, nos=list(accepted.values())) == len(accepted),
            timeout=90,
            every=1,
            what="every accepted case dispatched",
        )
    finally:
        engine.dispose()


def _drill(cluster: PrivatePostgres, intake_url: str, token: str) -> tuple[Submitters, dict[str, str]]:
    """Submissions for about 18 s across a restart and a 3 s outage; checks every answer; returns the
    submitters and the tracking number of each key answered 2xx."""
    submitters = Submitters(intake_url, token)
    submitters.start()
    try:
        eventually(lambda: submitters.first_success_after(0), timeout=20, what="a first submission")
        time.sleep(3)
        cluster.restart("fast")
        restarted = time.monotonic()
        recovered = eventually(
            lambda: submitters.first_success_after(restarted),
            timeout=RECOVERY_SECONDS,
            what="a submission accepted after pg_ctl restart",
        )
        time.sleep(2)
        cluster.stop("fast")
        time.sleep(3)  # fully down
        cluster.start()
        back = time.monotonic()
        recovered_after_stop = eventually(
            lambda: submitters.first_success_after(back),
            timeout=RECOVERY_SECONDS,
            what="a submission accepted after the database was down for 3 s",
        )
        time.sleep(4)
    finally:
        submitters.stop()

    answers = submitters.answers
    statuses = Counter(a.status for a in answers)
    print(  # noqa: T201 (the drill's figures, shown with -s)
        f"answers {dict(statuses)}; recovered {recovered - restarted:.1f}s after the restart, "
        f"{recovered_after_stop - back:.1f}s after the start"
    )
    errors = [a for a in answers if a.status is None]
    assert not errors, f"transport errors (a hang or a dropped connection): {errors[:5]}"
    assert set(statuses) <= {200, 201, 503}, [a for a in answers if a.status not in (200, 201, 503)][:5]
    for answer in answers:
        if answer.status == 503:
            error = answer.body["error"]
            assert isinstance(error["code"], str) and error["code"], answer
            assert isinstance(error["message"], str) and error["message"], answer
            assert answer.retry_after is not None, answer

    accepted: dict[str, str] = {}
    for answer in answers:
        if answer.status in (200, 201):
            tracking_no = answer.body["tracking_no"]
            assert accepted.setdefault(answer.key, tracking_no) == tracking_no, answer
    assert len(accepted) >= 20, "too few submissions to call it a drill"
    return submitters, accepted
