"""Reading a data package's ``MANIFEST/manifest.xml`` (ATAK's MissionPackageManifest v2).

Only what the server needs: one ``<Configuration><Parameter name value/>``
(an uploader may mark a package with ``<Parameter name="marking" …/>``). The
zip is read from disk through its central directory, the manifest bounded and
parsed with the hardened parser the CoT codec uses (no DTDs, no entities).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from allied_c2.cot.xmltree import parse

MANIFEST = "MANIFEST/manifest.xml"
MAX_MANIFEST = 1 << 20


# What zipfile raises for an archive it cannot read: damaged (BadZipFile, EOFError,
# zlib.error), a member it cannot open (KeyError), encrypted (RuntimeError), or a
# compression method it does not know (NotImplementedError).
_UNREADABLE = (
    zipfile.BadZipFile,
    KeyError,
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    RuntimeError,
    NotImplementedError,
)


def manifest_parameter(source: Path | BinaryIO, name: str) -> str | None:
    """The value of the manifest's Configuration parameter ``name``, if the package has
    one; None for a package without a readable manifest (the default marking applies)."""
    try:
        with zipfile.ZipFile(source) as archive:
            info = archive.getinfo(MANIFEST)
            if info.file_size > MAX_MANIFEST:
                return None
            with archive.open(info) as member:
                data = member.read(MAX_MANIFEST + 1)  # the header's size may lie
            if len(data) > MAX_MANIFEST:
                return None
    except _UNREADABLE:
        return None
    try:
        root = parse(data)
    except Exception:  # a malformed manifest marks nothing; the default applies
        return None
    for parameter in root.iterfind("Configuration/Parameter"):
        if parameter.get("name") == name:
            value = parameter.get("value")
            return value.strip() if value else None
    return None
