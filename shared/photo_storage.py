"""Where photo files live: a small interface and its filesystem implementation (a directory under
MINYI_DATA_DIR by default). Keys are random, so knowing one photo's key says nothing about another's."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from shared.settings import get_settings

_KEY = re.compile(r"^[0-9a-f]{2}/[A-Za-z0-9_-]{32,64}\.(jpg|png)$")


class PhotoStorage(Protocol):
    def put(self, data: bytes, extension: str) -> str:
        """Stores the bytes under a new unguessable key and answers the key."""
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError for an unknown key."""
        ...

    def delete(self, key: str) -> None: ...


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
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
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


def photo_storage() -> PhotoStorage:
    """The configured storage: read per call, so a changed MINYI_DATA_DIR (tests) takes effect."""
    return FilesystemPhotoStorage(get_settings().data_dir / "photos")
