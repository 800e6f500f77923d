"""Reading a data package's ``MANIFEST/manifest.xml`` (ATAK's MissionPackageManifest v2).

Only what the server needs: one ``<Configuration><Parameter name value/>``
(an uploader may mark a package with ``<Parameter name="marking" …/>``). The
zip is read from disk through its central directory, the manifest bounded and
parsed with the hardened parser the CoT codec uses (no DTDs, no entities).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from allied_c2.cot.xmltree import parse

MANIFEST = "MANIFEST/manifest.xml"
MAX_MANIFEST = 1 << 20


def manifest_parameter(path: Path, name: str) -> str | None:
    """The value of the manifest's Configuration parameter ``name``, if the file has one."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(MANIFEST)
            if info.file_size > MAX_MANIFEST:
                return None
            data = archive.read(info)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
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
