"""Cleaning up after uploads: expired uploads no case took lose their rows and files, in batches, while
attached photos, unexpired uploads and uploads just past their hour stay; files no row names are swept once
old; the worker's job does the first at once."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.intake.photo_cleanup import delete_expired_uploads, sweep_unnamed_files
from services.worker import run_photo_cleanup
from shared.db.models import Photo
from shared.photo_storage import PhotoStorage, photo_storage
from shared.settings import get_settings
from tests.factories import World
from tests.intake_api.photo_helpers import data_dir
from tests.supervision_api.arrange import new_case


def now() -> datetime:
    # Read at each use, never at import: a long suite run would make a constant minutes old, and the grace
    # after expiry is counted from the real clock.
    return datetime.now(UTC)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[PhotoStorage]:
    with data_dir(tmp_path):
        yield photo_storage()


async def _upload(
    session: AsyncSession,
    world: World,
    storage: PhotoStorage,
    *,
    expires_at: datetime,
    case_id: int | None = None,
) -> Photo:
    """A stored upload as photo_uploads.store leaves it (attached to ``case_id`` when given)."""
    photo = Photo(
        jurisdiction_id=world.jurisdiction.id,
        intake_code_id=world.station_code.id,
        case_id=case_id,
        upload_token_hash=secrets.token_hex(32),
        expires_at=expires_at,
        content_type="image/jpeg",
        bytes=4,
        width=1,
        height=1,
        sha256="0" * 64,
        storage_key=storage.put(b"jpeg", "jpg"),
        thumb_key=storage.put(b"thumb", "jpg"),
    )
    session.add(photo)
    await session.flush()
    return photo


def _exists(storage: PhotoStorage, key: str) -> bool:
    try:
        storage.get(key)
    except FileNotFoundError:
        return False
    return True


async def _ids(session: AsyncSession) -> set[int]:
    return set((await session.execute(select(Photo.id))).scalars())


def _age(root: Path, key: str, days: float) -> None:
    when = (now() - timedelta(days=days)).timestamp()
    os.utime(root / key, (when, when))


async def test_expired_unattached_uploads_and_their_files_go_the_others_stay(
    engine: AsyncEngine, session: AsyncSession, world: World, storage: PhotoStorage
) -> None:
    case = await new_case(session, world)
    expired = [
        await _upload(session, world, storage, expires_at=now() - timedelta(hours=2)) for _ in range(3)
    ]
    attached = await _upload(session, world, storage, expires_at=now() - timedelta(hours=2), case_id=case.id)
    waiting = await _upload(session, world, storage, expires_at=now() + timedelta(minutes=30))
    # Just past its hour: a submission that found it usable a moment ago may still be attaching it.
    just_expired = await _upload(session, world, storage, expires_at=now() - timedelta(minutes=1))
    await session.commit()
    kept = [attached, waiting, just_expired]

    # Batches of two: three expired uploads take two batches, all in one run.
    assert await delete_expired_uploads(engine, storage, batch_size=2) == 3

    assert await _ids(session) == {p.id for p in kept}
    for photo in expired:
        assert not _exists(storage, photo.storage_key) and not _exists(storage, photo.thumb_key)
    for photo in kept:
        assert _exists(storage, photo.storage_key) and _exists(storage, photo.thumb_key)
    assert await delete_expired_uploads(engine, storage) == 0


async def test_a_run_stops_after_its_batches_and_the_next_run_goes_on(
    engine: AsyncEngine, session: AsyncSession, world: World, storage: PhotoStorage
) -> None:
    for _ in range(5):
        await _upload(session, world, storage, expires_at=now() - timedelta(hours=2))
    await session.commit()
    assert await delete_expired_uploads(engine, storage, batch_size=2, max_batches=2) == 4
    assert len(await _ids(session)) == 1
    assert await delete_expired_uploads(engine, storage, batch_size=2, max_batches=2) == 1
    assert await _ids(session) == set()


async def test_old_files_no_row_names_are_swept_fresh_and_named_ones_stay(
    engine: AsyncEngine, session: AsyncSession, world: World, storage: PhotoStorage, tmp_path: Path
) -> None:
    root = tmp_path / "photos"
    named = await _upload(session, world, storage, expires_at=now() + timedelta(minutes=30))
    await session.commit()
    # Left by a crash after the row's delete (or before its insert), a day and more ago.
    orphan = storage.put(b"left behind", "jpg")
    # Being written with its row about to be inserted: too young to judge.
    fresh = storage.put(b"in flight", "jpg")
    half_written = root / orphan[:2] / ".tmp-killed"
    half_written.write_bytes(b"half")
    for key in (orphan, named.storage_key, named.thumb_key, half_written.relative_to(root).as_posix()):
        _age(root, key, days=2)

    swept = await sweep_unnamed_files(engine, storage)

    assert (swept.files, swept.temporaries) == (1, 1)
    assert not _exists(storage, orphan) and not half_written.exists()
    assert _exists(storage, fresh)
    assert _exists(storage, named.storage_key) and _exists(storage, named.thumb_key)


async def test_the_worker_job_deletes_expired_uploads_when_it_starts(
    engine: AsyncEngine, session: AsyncSession, world: World, storage: PhotoStorage
) -> None:
    expired = await _upload(session, world, storage, expires_at=now() - timedelta(hours=2))
    waiting = await _upload(session, world, storage, expires_at=now() + timedelta(minutes=30))
    await session.commit()
    stop = asyncio.Event()
    job = asyncio.create_task(run_photo_cleanup(engine, get_settings(), stop))
    try:
        for _ in range(100):
            if not _exists(storage, expired.storage_key):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(job, timeout=10)
    assert await _ids(session) == {waiting.id}
    assert not _exists(storage, expired.storage_key) and _exists(storage, waiting.storage_key)
