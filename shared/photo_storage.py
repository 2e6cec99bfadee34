"""Where photo files live: a small interface and its filesystem implementation (a directory under
MINYI_DATA_DIR by default). Keys are random, so knowing one photo's key says nothing about another's."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from shared.settings import get_settings

_KEY = re.compile(r"^[0-9a-f]{2}/[A-Za-z0-9_-]{32,64}\.(jpg|png)$")
_SHARD = re.compile(r"^[0-9a-f]{2}$")
_TEMPORARY = ".tmp-"


class PhotoStorage(Protocol):
    def put(self, data: bytes, extension: str) -> str:
        """Stores the bytes under a new unguessable key and answers the key."""
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError for an unknown key."""
        ...

    def delete(self, key: str) -> None: ...

    def keys_written_before(self, moment: datetime) -> Iterator[str]:
        """The keys of the files last written before ``moment``: what a sweep for files no row names (left
        by a crash) looks at."""
        ...

    def delete_temporaries_before(self, moment: datetime) -> int:
        """Removes the half-written files of writes a killed process never finished; answers how many."""
        ...


class FilesystemPhotoStorage:
    """Files under ``root``, sharded by the key's first two characters. A file appears whole or not at all:
    it is written to a temporary name in the same directory, flushed to disk, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys come from our own rows, but a key that could walk out of the root is never opened.
        if not _KEY.match(key):
            raise FileNotFoundError(key)
        return self.root / key

    def put(self, data: bytes, extension: str) -> str:
        token = secrets.token_urlsafe(32)
        key = f"{secrets.token_hex(1)}/{token}.{extension}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMPORARY)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _files_before(self, moment: datetime) -> Iterator[tuple[str, Path]]:
        cutoff = moment.timestamp()
        try:
            shards = [entry for entry in os.scandir(self.root) if entry.is_dir() and _SHARD.match(entry.name)]
        except FileNotFoundError:
            return
        for shard in shards:
            with os.scandir(shard.path) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        yield f"{shard.name}/{entry.name}", Path(entry.path)

    def keys_written_before(self, moment: datetime) -> Iterator[str]:
        return (key for key, _ in self._files_before(moment) if _KEY.match(key))

    def delete_temporaries_before(self, moment: datetime) -> int:
        removed = 0
        for key, path in self._files_before(moment):
            if key[3:].startswith(_TEMPORARY):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def photo_storage() -> PhotoStorage:
    """The configured storage: read per call, so a changed MINYI_DATA_DIR (tests) takes effect."""
    return FilesystemPhotoStorage(get_settings().data_dir / "photos")
