"""Moving every encrypted value to the first of MINYI_SECRET_KEY's keys (`minyi secrets reencrypt`).

After a new key is put first, values written before still open with the older key; this walks each Fernet
column by id in batches (one transaction each), re-encrypts what an older key opened (MultiFernet.rotate) and
counts the rest. Values are read without locks; only a row about to be rewritten is read again under a row
lock in its batch's transaction, so a concurrent change is never overwritten and an interrupted run loses at
most one batch. A second run finds everything current. A value no configured key opens is counted, its row
id kept for the report, and left as it is; values are never logged or printed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.lanes import SECRET_PURPOSE
from shared.security.pii import KeyState, Rotation

__all__ = ["BATCH_ROWS", "TABLES", "ColumnCount", "EncryptedTable", "reencrypt"]

BATCH_ROWS = 500
# Row ids of unreadable values kept per column for the report (the count is exact anyway).
KEEP_IDS = 20


@dataclass(frozen=True)
class EncryptedTable:
    name: str
    columns: tuple[str, ...]
    purpose: str  # the key-derivation label the columns were encrypted under (shared.security.pii)


# Every Fernet column of the schema (whatever calls shared.security.pii.encrypt writes one of these).
TABLES = (
    EncryptedTable("cases", ("submitter_name_enc", "submitter_phone_enc", "submitter_email_enc"), "pii"),
    EncryptedTable("webhook_endpoints", ("secret_enc", "previous_secret_enc"), SECRET_PURPOSE),
)


@dataclass
class ColumnCount:
    table: str
    column: str
    reencrypted: int = 0  # in a dry run: would be
    current: int = 0
    unreadable: int = 0
    unreadable_ids: list[int] = field(default_factory=list)  # the first KEEP_IDS rows' ids

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def add(self, state: KeyState, row_id: int) -> None:
        if state is KeyState.current:
            self.current += 1
        elif state is KeyState.older:
            self.reencrypted += 1
        else:
            self.unreadable += 1
            if len(self.unreadable_ids) < KEEP_IDS:
                self.unreadable_ids.append(row_id)


async def reencrypt(
    engine: AsyncEngine,
    *,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[ColumnCount]:
    """Re-encrypts (or, dry, only counts) every stored value with the first configured key; the counts of
    each column, NULLs not counted. ``progress(table, rows so far, last id)`` is called after each batch."""
    counts: list[ColumnCount] = []
    for table in TABLES:
        keys = Rotation(table.purpose)
        by_column = [ColumnCount(table.name, column) for column in table.columns]
        after, seen = 0, 0
        while True:
            async with engine.begin() as conn:
                rows = await _batch(conn, table, after, batch_rows)
                if not rows:
                    break
                after, seen = int(rows[-1][0]), seen + len(rows)
                read = {int(row[0]): (tuple(row[1:]), _states(keys, row)) for row in rows}
                states = {row_id: [state for state, _ in found] for row_id, (_, found) in read.items()}
                stale = {
                    row_id: found
                    for row_id, found in read.items()
                    if any(state is KeyState.older for state, _ in found[1])
                }
                if stale and not dry_run:
                    for row_id in stale:
                        del states[row_id]
                    states |= await _rewrite(conn, table, keys, stale)
                for row_id, row_states in states.items():
                    for count, state in zip(by_column, row_states, strict=True):
                        if state is not None:
                            count.add(state, row_id)
            if progress is not None:
                progress(table.name, seen, after)
        counts += by_column
    return counts


Found = list[tuple[KeyState | None, bytes | None]]


def _states(keys: Rotation, row: Sequence[Any]) -> Found:
    """Per column, which key its value is under (None for NULL), with the plain text of an older key's."""
    return [(None, None) if value is None else keys.state(_bytes(value)) for value in row[1:]]


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes | bytearray | memoryview)
    return bytes(value)


def _select(table: EncryptedTable) -> str:
    # Table and column names come from TABLES above, never from input.
    columns = ", ".join(table.columns)
    any_set = " OR ".join(f"{column} IS NOT NULL" for column in table.columns)
    return f"SELECT id, {columns} FROM {table.name} WHERE id > :after AND ({any_set}) ORDER BY id"  # noqa: S608


async def _batch(conn: AsyncConnection, table: EncryptedTable, after: int, limit: int) -> list[Sequence[Any]]:
    result = await conn.execute(text(_select(table) + " LIMIT :limit"), {"after": after, "limit": limit})
    return [tuple(row) for row in result.all()]


async def _rewrite(
    conn: AsyncConnection,
    table: EncryptedTable,
    keys: Rotation,
    read: dict[int, tuple[tuple[Any, ...], Found]],
) -> dict[int, list[KeyState | None]]:
    """Reads the rows again under a lock (in id order) and writes their older-key values re-encrypted with the
    first key; each row's states as found under the lock, for counting (a row deleted meanwhile is gone). A
    row unchanged since ``read`` is not decrypted again."""
    columns = ", ".join(table.columns)
    locked = await conn.execute(
        text(f"SELECT id, {columns} FROM {table.name} WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),  # noqa: S608
        {"ids": list(read)},
    )
    found: dict[int, list[KeyState | None]] = {}
    updates = []
    for row in locked.all():
        before, earlier = read[int(row[0])]
        now = earlier if tuple(row[1:]) == before else _states(keys, row)
        found[int(row[0])] = [state for state, _ in now]
        if not any(state is KeyState.older for state, _ in now):
            continue  # changed meanwhile, by a process already on the new key
        values = {
            column: keys.encrypt(plain) if state is KeyState.older and plain is not None else value
            for column, value, (state, plain) in zip(table.columns, row[1:], now, strict=True)
        }
        updates.append({"id": row[0], **values})
    if updates:
        assignments = ", ".join(f"{column} = :{column}" for column in table.columns)
        await conn.execute(text(f"UPDATE {table.name} SET {assignments} WHERE id = :id"), updates)  # noqa: S608
    return found
