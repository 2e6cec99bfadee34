"""Several keys in MINYI_SECRET_KEY (a rotation): the first encrypts and signs, all decrypt and verify, and
`minyi secrets reencrypt` moves every stored value to the first, so the older key can then be dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.intake import form_keys
from services.supervision.dashboard import sessions
from shared.db.models import Case, WebhookEndpoint
from shared.errors import Unauthorized
from shared.events.inbox import read_internal_batch
from shared.events.lanes import SECRET_PURPOSE
from shared.security.pii import decrypt, encrypt
from shared.security.reencrypt import ColumnCount, reencrypt
from shared.settings import Settings, get_settings
from tests.factories import World
from tests.internal_events import signed_batch
from tests.services.routing.cases import new_case

OLD = "old-key-" + "o" * 40
NEW = "new-key-" + "n" * 40
LOST = "lost-key-" + "l" * 40  # a key nobody configures any more

UseKeys = Callable[..., None]


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> UseKeys:
    """Configures the process's keys as MINYI_SECRET_KEY would list them (parsed by Settings itself)."""

    def use(*keys: str) -> None:
        parsed = Settings(secret_key=" , ".join(keys), env="test")
        monkeypatch.setattr(get_settings(), "secret_keys", parsed.secret_keys)
        assert get_settings().secret_key == keys[0] and get_settings().secret_keys == keys

    return use


def test_an_old_value_stays_readable_after_a_new_key_is_put_first(use_keys: UseKeys) -> None:
    use_keys(OLD)
    old_token = encrypt("张三")
    use_keys(NEW, OLD)
    assert decrypt(old_token) == "张三"
    new_token = encrypt("李四")
    # New writes are under the new key alone: readable with it, not with the old one.
    use_keys(NEW)
    assert decrypt(new_token) == "李四"
    assert decrypt(old_token) is None  # the old key was needed for it
    use_keys(OLD)
    assert decrypt(new_token) is None


def test_an_internal_batch_signed_with_the_old_key_verifies_while_both_are_configured(
    use_keys: UseKeys,
) -> None:
    use_keys(OLD)
    event = ("msg_rotation", "case.received", datetime.now(UTC), {"case_id": 1})
    body, headers = signed_batch("routing", [event])  # a relay not yet restarted
    use_keys(NEW, OLD)
    [received] = read_internal_batch("routing", body, headers)
    assert received.message_id == "msg_rotation" and received.data == {"case_id": 1}
    new_body, new_headers = signed_batch("routing", [event])  # a restarted relay signs with the new key
    assert read_internal_batch("routing", new_body, new_headers)[0].message_id == "msg_rotation"
    use_keys(NEW)
    with pytest.raises(Unauthorized):
        read_internal_batch("routing", body, headers)
    use_keys(LOST, OLD)  # the other consumer's secret never verifies, whatever the keys
    with pytest.raises(Unauthorized):
        read_internal_batch("supervision", body, headers)


def test_forms_rendered_before_a_rotation_are_accepted_after_it(use_keys: UseKeys) -> None:
    use_keys(OLD)
    submission_key = form_keys.issue_submission_key()
    access_key = form_keys.derived_access_key(7, submission_key)
    nonce, token = sessions.new_token(), sessions.new_token()
    login_csrf, logout_csrf = sessions.csrf_for_nonce(nonce), sessions.csrf_for_session(token)

    use_keys(NEW, OLD)
    assert form_keys.is_issued(submission_key)
    # The same receipt for the double tap across the restart: derived under the key that signed the form.
    assert form_keys.derived_access_key(7, submission_key) == access_key
    fresh = form_keys.issue_submission_key()
    assert form_keys.is_issued(fresh) and form_keys.derived_access_key(7, fresh) != access_key
    assert sessions.nonce_csrf_accepted(nonce, login_csrf)
    assert sessions.session_csrf_accepted(token, logout_csrf)
    assert sessions.csrf_for_nonce(nonce) != login_csrf  # new pages carry the new key's token
    assert not sessions.nonce_csrf_accepted(nonce, logout_csrf)
    assert not sessions.session_csrf_accepted(sessions.new_token(), logout_csrf)

    use_keys(NEW)
    assert not form_keys.is_issued(submission_key)
    assert not sessions.nonce_csrf_accepted(nonce, login_csrf)
    assert form_keys.is_issued(fresh)


async def _arrange(session: AsyncSession, world: World, use_keys: UseKeys) -> dict[str, int]:
    """Under the old key: four cases (one with an e-mail, one with nothing, one whose phone was written under
    a key that is gone) and two integrator endpoints (one mid-rotation, with a previous secret)."""
    use_keys(OLD)
    full = await new_case(session, world, submitter_name="张三", submitter_phone="13800001111")
    await session.execute(
        update(Case).where(Case.id == full.id).values(submitter_email_enc=encrypt("zhang@example.cn"))
    )
    named = await new_case(session, world, submitter_name="李四")
    await new_case(session, world)
    use_keys(LOST)
    lost_phone = encrypt("13900002222")
    use_keys(OLD)
    broken = await new_case(session, world, submitter_name="王五")
    await session.execute(update(Case).where(Case.id == broken.id).values(submitter_phone_enc=lost_phone))
    plain = WebhookEndpoint(
        jurisdiction_id=world.jurisdiction.id,
        kind="integrator",
        url="https://hooks.example.cn/a",
        event_types=[],
        secret_enc=encrypt("whsec_plain", SECRET_PURPOSE),
    )
    rotating = WebhookEndpoint(
        jurisdiction_id=world.jurisdiction.id,
        kind="integrator",
        url="https://hooks.example.cn/b",
        event_types=[],
        secret_enc=encrypt("whsec_new", SECRET_PURPOSE),
        previous_secret_enc=encrypt("whsec_previous", SECRET_PURPOSE),
    )
    session.add_all([plain, rotating])
    await session.commit()
    return {
        "full": full.id,
        "named": named.id,
        "broken": broken.id,
        "plain": plain.id,
        "rotating": rotating.id,
    }


async def _stored(session: AsyncSession) -> dict[str, bytes | None]:
    session.expire_all()
    found: dict[str, bytes | None] = {}
    for case in await session.scalars(select(Case).order_by(Case.id)):
        found |= {
            f"case{case.id}.name": case.submitter_name_enc,
            f"case{case.id}.phone": case.submitter_phone_enc,
            f"case{case.id}.email": case.submitter_email_enc,
        }
    for endpoint in await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)):
        found |= {
            f"endpoint{endpoint.id}.secret": endpoint.secret_enc,
            f"endpoint{endpoint.id}.previous": endpoint.previous_secret_enc,
        }
    return found


def _table(counts: list[ColumnCount]) -> dict[str, tuple[int, int, int]]:
    return {count.name: (count.reencrypted, count.current, count.unreadable) for count in counts}


async def test_reencrypt_moves_everything_to_the_first_key(
    engine: AsyncEngine, session: AsyncSession, world: World, use_keys: UseKeys
) -> None:
    ids = await _arrange(session, world, use_keys)
    before = await _stored(session)
    use_keys(NEW, OLD)

    dry = await reencrypt(engine, dry_run=True, batch_rows=2)
    expected = {
        "cases.submitter_name_enc": (3, 0, 0),
        "cases.submitter_phone_enc": (1, 0, 1),
        "cases.submitter_email_enc": (1, 0, 0),
        "webhook_endpoints.secret_enc": (2, 0, 0),
        "webhook_endpoints.previous_secret_enc": (1, 0, 0),
    }
    assert _table(dry) == expected
    assert await _stored(session) == before  # a dry run changes nothing

    done = await reencrypt(engine, batch_rows=2)
    assert _table(done) == expected
    [phones] = [count for count in done if count.column == "submitter_phone_enc"]
    assert phones.unreadable_ids == [ids["broken"]]
    after = await _stored(session)
    broken_phone = f"case{ids['broken']}.phone"
    assert after[broken_phone] == before[broken_phone]  # unreadable: left exactly as it was
    changed = {name for name, value in after.items() if value != before[name]}
    assert changed == {name for name, value in before.items() if value is not None} - {broken_phone}

    # The old key can go: everything readable is readable with the new key alone, as it was.
    use_keys(NEW)
    cases = {case.id: case for case in await session.scalars(select(Case))}
    full, named, broken = cases[ids["full"]], cases[ids["named"]], cases[ids["broken"]]
    assert decrypt(full.submitter_name_enc) == "张三"
    assert decrypt(full.submitter_phone_enc) == "13800001111"
    assert decrypt(full.submitter_email_enc) == "zhang@example.cn"
    assert decrypt(named.submitter_name_enc) == "李四" and named.submitter_phone_enc is None
    assert decrypt(broken.submitter_name_enc) == "王五" and decrypt(broken.submitter_phone_enc) is None
    endpoints = {e.id: e for e in await session.scalars(select(WebhookEndpoint))}
    assert decrypt(endpoints[ids["plain"]].secret_enc, SECRET_PURPOSE) == "whsec_plain"
    assert decrypt(endpoints[ids["rotating"]].secret_enc, SECRET_PURPOSE) == "whsec_new"
    assert decrypt(endpoints[ids["rotating"]].previous_secret_enc, SECRET_PURPOSE) == "whsec_previous"

    # Idempotent: a second run (both keys still configured) finds everything current and writes nothing.
    use_keys(NEW, OLD)
    again = await reencrypt(engine, batch_rows=2)
    assert _table(again) == {
        name: (0, moved, unreadable) for name, (moved, _, unreadable) in expected.items()
    }
    assert await _stored(session) == after


async def test_the_command_reencrypts_counts_and_fails_on_unreadable_values(
    engine: AsyncEngine,
    session: AsyncSession,
    world: World,
    use_keys: UseKeys,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    ids = await _arrange(session, world, use_keys)
    before = await _stored(session)
    use_keys(NEW, OLD)

    dry = await asyncio.to_thread(CliRunner().invoke, app, ["secrets", "reencrypt", "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert (
        "cases.submitter_name_enc" in dry.stdout
        and "3 to re-encrypt, 0 already current, 0 unreadable" in dry.stdout
    )
    assert await _stored(session) == before

    result = await asyncio.to_thread(CliRunner().invoke, app, ["secrets", "reencrypt", "--batch-rows", "1"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2 keys configured; the first encrypts"
    assert any(line.startswith("cases.submitter_phone_enc") for line in lines)
    assert "1 re-encrypted, 0 already current, 1 unreadable" in result.stdout
    assert "2 re-encrypted, 0 already current, 0 unreadable" in result.stdout  # webhook_endpoints.secret_enc
    assert (
        f"cases.submitter_phone_enc: no configured key opens the value of the rows with id {ids['broken']}\n"
        in result.stderr
    )
    # Never a value, encrypted or plain, in what it prints.
    for secret in ("张三", "13800001111", "13900002222", "whsec_"):
        assert secret not in result.output

    # Once the unreadable phone is erased, a second run finds all current and succeeds.
    await session.execute(update(Case).where(Case.id == ids["broken"]).values(submitter_phone_enc=None))
    await session.commit()
    again = await asyncio.to_thread(CliRunner().invoke, app, ["secrets", "reencrypt"])
    assert again.exit_code == 0, again.output
    assert "0 re-encrypted, 3 already current, 0 unreadable" in again.stdout
    assert again.stderr == ""
    use_keys(NEW)
    session.expire_all()
    full = await session.get(Case, ids["full"])
    assert full is not None and decrypt(full.submitter_email_enc) == "zhang@example.cn"


async def test_a_row_locked_too_long_stops_the_command_and_a_second_run_finishes(
    engine: AsyncEngine,
    session: AsyncSession,
    world: World,
    use_keys: UseKeys,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(get_settings(), "db_lock_timeout_ms", 300)
    ids = await _arrange(session, world, use_keys)
    await session.execute(update(Case).where(Case.id == ids["broken"]).values(submitter_phone_enc=None))
    await session.commit()
    before = await _stored(session)
    use_keys(NEW, OLD)

    async with engine.connect() as holder:  # the application, changing that case right now
        transaction = await holder.begin()
        await holder.execute(select(Case.id).where(Case.id == ids["named"]).with_for_update())
        stopped = await asyncio.to_thread(CliRunner().invoke, app, ["secrets", "reencrypt"])
        await transaction.rollback()
    assert stopped.exit_code == 1, stopped.output
    assert "error: " in stopped.stderr and "run it again" in stopped.stderr
    assert "gAAAA" not in stopped.output  # no ciphertext (Fernet tokens start so) in the message
    assert await _stored(session) == before  # the batch under way was not written

    again = await asyncio.to_thread(CliRunner().invoke, app, ["secrets", "reencrypt"])
    assert again.exit_code == 0, again.output
    assert "3 re-encrypted, 0 already current, 0 unreadable" in again.stdout


async def test_a_restarted_relay_s_batches_verify_at_a_receiver_still_on_the_old_key(
    use_keys: UseKeys,
) -> None:
    import uuid

    import httpx

    from shared.events.claims import Claimed
    from shared.events.lanes import InternalLane

    received: list[str] = []

    def receiver_on_old_key(request: httpx.Request) -> httpx.Response:
        use_keys(OLD)  # the receiving service has not been restarted with the new key yet
        try:
            batch = read_internal_batch("routing", request.content, request.headers)
        except Unauthorized:
            return httpx.Response(401)
        received.extend(event.message_id for event in batch)
        return httpx.Response(
            200, json={"results": [{"id": e.message_id, "status": "applied"} for e in batch]}
        )

    use_keys(NEW, OLD)
    relay_settings = get_settings().model_copy()
    now = datetime.now(UTC)
    claimed = Claimed(
        delivery_id=1,
        token=uuid.uuid4(),
        attempts=0,
        created_at=now,
        outbox_id=1,
        event_id=uuid.uuid4(),
        type="case.received",
        payload={"case_id": 1},
        occurred_at=now,
        endpoint_id=1,
        endpoint_kind="internal",
        endpoint_name="routing",
        url="http://routing.internal/internal/events",
        secret_enc=None,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver_on_old_key)) as client:
        lane = InternalLane(None, relay_settings, client, lambda: datetime.now(UTC))  # type: ignore[arg-type]
        [(_, outcome)] = await lane.send([claimed])
    assert outcome.ok and received == [f"msg_{claimed.event_id.hex}"]
