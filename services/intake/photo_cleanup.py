"""Cleaning up after citizens' uploads: the expired uploads no submission took (their rows, then their files),
and the files no row names.

Rows go first, a bounded batch per transaction, and their files only once that has committed: a crash in
between leaves files without a row, which nothing serves and the sweep removes, never a row whose file is
gone. Only uploads expired for longer than GRACE are taken, so a submission that found its upload usable just
before it expired still attaches it (the attachment updates the row where no case has it yet; a row deleted
under it would leave the case without its photo). Files no row names (a crash between a file's write and its
row's insert, or between a row's delete and its file's) are removed once older than ORPHAN_AGE, long after any
upload writing them has inserted its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from anyio import to_thread
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import String

from shared.db.engine import transaction
from shared.db.models import Photo
from shared.photo_storage import PhotoStorage

BATCH_SIZE = 500
MAX_BATCHES = 40  # per run: a backlog larger than this waits for the next run
GRACE = timedelta(minutes=10)
ORPHAN_AGE = timedelta(days=1)
# Keys looked up per statement: each is two hash anti-joins over photos (its keys have no index), so a
# batch of files costs two scans of the table, not one per file.
ORPHAN_BATCH = 5000

_UNNAMED = text(
    """
SELECT k.key FROM unnest(:keys) AS k(key)
WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.storage_key = k.key)
  AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.thumb_key = k.key)
"""
).bindparams(bindparam("keys", type_=ARRAY(String)))


@dataclass(frozen=True)
class Sweep:
    files: int  # files no row named
    temporaries: int  # half-written files of killed writes


async def delete_expired_uploads(
    engine: AsyncEngine,
    storage: PhotoStorage,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Deletes uploads no case took that expired more than GRACE ago, rows then files; answers how many.

    Rows another worker has locked (deleting them too, or a submission attaching them) are skipped."""
    removed = 0
    for _batch in range(max_batches):
        expired = (
            select(Photo.id)
            .where(Photo.case_id.is_(None), Photo.expires_at < func.now() - GRACE)
            .order_by(Photo.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        async with transaction(engine) as session:
            rows = (
                await session.execute(
                    delete(Photo)
                    .where(Photo.id.in_(expired.scalar_subquery()))
                    .returning(Photo.storage_key, Photo.thumb_key)
                )
            ).all()
        for storage_key, thumb_key in rows:
            await to_thread.run_sync(storage.delete, storage_key)
            await to_thread.run_sync(storage.delete, thumb_key)
        removed += len(rows)
        if len(rows) < batch_size:
            break
    return removed


async def sweep_unnamed_files(
    engine: AsyncEngine,
    storage: PhotoStorage,
    *,
    now: datetime | None = None,
    older_than: timedelta = ORPHAN_AGE,
) -> Sweep:
    """Removes the stored files older than ``older_than`` that no photo row names, and stale half-written
    files."""
    before = (now or datetime.now(UTC)) - older_than
    keys = await to_thread.run_sync(lambda: iter(storage.keys_written_before(before)))
    files = 0
    while batch := await to_thread.run_sync(lambda: list(islice(keys, ORPHAN_BATCH))):
        async with transaction(engine) as session:
            unnamed = list((await session.execute(_UNNAMED, {"keys": batch})).scalars())
        for key in unnamed:
            await to_thread.run_sync(storage.delete, key)
        files += len(unnamed)
    temporaries = await to_thread.run_sync(storage.delete_temporaries_before, before)
    return Sweep(files=files, temporaries=temporaries)
