"""Content-addressed file storage for data packages: streamed in, hashed, bounded.

An upload is written chunk by chunk to a temporary file inside the store
directory while its SHA-256 is computed, so a file is never held whole in
memory; past ``max_bytes`` the write stops and the partial file is removed.
The finished file is renamed (atomic on one file system) to ``ab/abcdef…``
under its hash, as the official TAK Server keys packages by their SHA-256
(shared reference tak-server-api.md §2: the hash is the package's UID).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HASH = re.compile(r"^[0-9a-f]{64}$")
READ_CHUNK = 256 * 1024


class TooLarge(Exception):
    pass


class HashMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Stored:
    hash: str
    size: int
    path: Path


class Upload:
    """One upload in progress: ``write`` chunks, then ``finish`` (or ``abort``)."""

    def __init__(self, store: FileStore) -> None:
        self._store = store
        self._digest = hashlib.sha256()
        self.size = 0
        incoming = store.directory / ".incoming"
        incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._path = incoming / secrets.token_hex(16)
        self._file = open(self._path, "xb")  # noqa: SIM115 - closed in finish/abort

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._store.max_bytes:
            self.abort()
            raise TooLarge(f"file over {self._store.max_bytes} bytes")
        self._digest.update(chunk)
        self._file.write(chunk)

    def finish(self, expected: str | None = None) -> Stored:
        """Keep the file under its hash; ``expected`` (a client's claim) must match it."""
        self._file.close()
        digest = self._digest.hexdigest()
        if expected is not None and expected.lower() != digest:
            self._path.unlink(missing_ok=True)
            raise HashMismatch(f"the content's SHA-256 is {digest}, not {expected}")
        target = self._store.path_of(digest)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(self._path, target)
        return Stored(digest, self.size, target)

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)


class FileStore:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        if not HASH.match(digest):
            raise ValueError(f"not a SHA-256: {digest!r}")
        return self.directory / digest[:2] / digest

    def begin(self) -> Upload:
        return Upload(self)

    def exists(self, digest: str) -> bool:
        return HASH.match(digest) is not None and self.path_of(digest).is_file()

    def read(self, digest: str, offset: int = 0) -> Iterator[bytes]:
        """The file from ``offset`` on, in chunks (ATAK resumes downloads by offset)."""
        with open(self.path_of(digest), "rb") as handle:
            handle.seek(offset)
            while chunk := handle.read(READ_CHUNK):
                yield chunk

    def delete(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)
