"""The demo's data directory: fresh on every run, and never someone else's folder.

A directory is wiped only when it carries the marker file a previous demo
wrote; anything else (a server's data, a home directory given by mistake) is
refused with a message, never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

MARKER = ".allied-c2-demo"
MARKER_TEXT = "This directory was created by `allied-c2 demo` and is wiped by its next run.\n"


class DataDirError(RuntimeError):
    """The directory cannot be used for the demo; the message says why and what to do."""


def running_pid(directory: Path) -> int | None:
    """The pid of a live server recorded in ``endpoints.json``, if one is still running."""
    try:
        pid = int(json.loads((directory / "endpoints.json").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, owned by someone else
    try:  # a recycled pid running something else is not a running demo
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc here: assume it is the demo
    # An empty command line (a process mid-exec, or a zombie) proves nothing either way.
    return pid if not cmdline or b"allied" in cmdline else None


def prepare(directory: Path) -> Path:
    """Make ``directory`` an empty demo directory (wiping a previous demo's) and return it."""
    if directory.is_symlink():
        raise DataDirError(f"{directory} is a symbolic link; give the demo a real directory")
    if directory.exists():
        if not directory.is_dir():
            raise DataDirError(f"{directory} exists and is not a directory")
        if any(directory.iterdir()):
            if not (directory / MARKER).is_file():
                raise DataDirError(
                    f"{directory} is not empty and was not made by `allied-c2 demo` (no {MARKER}"
                    " file): it is left alone; choose another --data-dir or empty it yourself"
                )
            pid = running_pid(directory)
            if pid is not None:
                raise DataDirError(
                    f"a demo is still running on {directory} (pid {pid}); stop it first"
                )
            shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return directory
