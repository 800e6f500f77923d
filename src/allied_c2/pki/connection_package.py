"""Connection data packages: the zip a TAK client imports to know and trust this server.

Formats (shared reference tak-server-api.md §1, "Connection data package"):

- **ATAK / WinTAK**: ``MANIFEST/manifest.xml`` (MissionPackageManifest v2, see
  ATAK ``MissionPackageConfiguration``), a ``.pref`` and the ``.p12`` files under
  ``certs/``. The pref's ``cot_streams`` holds ``connectString0`` =
  ``host:port:ssl`` (``NetConnectString``); ``com.atakmap.app_preferences`` the
  trust store and client certificate (``PreferenceControl``). Locations are
  ``cert/NAME.p12``, where ATAK keeps imported certificates, as the official
  server's package script writes them.
- **Soft certificate**: trust store plus the user's ``.p12``. **Enrollment**:
  trust store plus ``enrollForCertificateWithTrust0`` and ``useAuth0``, which
  makes ATAK start certificate enrollment on import (``ImportCertSort``).
- **iTAK**: a flat zip, ``config.pref`` and the ``.p12`` files, no manifest (OTS).

Pure: bytes in, zip bytes out.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from allied_c2.pki.bundle import TRUSTSTORE_NAME

STREAM_PORT = 8089
DESCRIPTION = "allied-c2"


@dataclass(frozen=True, slots=True)
class PackageInput:
    callsign: str
    host: str
    port: int
    truststore: bytes
    password: str
    client_p12: bytes | None = None  # None: the package makes the client enroll


def _entry(key: str, kind: str, value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f'<entry key={quoteattr(key)} class="class java.lang.{kind}">{escape(text)}</entry>'


def preferences(spec: PackageInput, *, cert_dir: str = "cert/") -> str:
    """The ``.pref``: one stream to this server and where the certificates are."""
    truststore = f"{cert_dir}{TRUSTSTORE_NAME}"
    stream = [
        _entry("count", "Integer", 1),
        _entry("description0", "String", f"{DESCRIPTION} {spec.host}"),
        _entry("enabled0", "Boolean", True),
        _entry("connectString0", "String", f"{spec.host}:{spec.port}:ssl"),
    ]
    app = [
        _entry("displayServerConnectionWidget", "Boolean", True),
        _entry("caLocation", "String", truststore),
        _entry("caPassword", "String", spec.password),
    ]
    if spec.client_p12 is None:
        stream += [
            _entry("enrollForCertificateWithTrust0", "Boolean", True),
            _entry("useAuth0", "Boolean", True),
            _entry("cacheCreds0", "String", "Cache credentials"),
            _entry("caLocation0", "String", truststore),
            _entry("caPassword0", "String", spec.password),
        ]
    else:
        app += [
            _entry("certificateLocation", "String", f"{cert_dir}{spec.callsign}.p12"),
            _entry("clientPassword", "String", spec.password),
        ]
    return (
        "<?xml version='1.0' encoding='ASCII' standalone='yes'?>\n<preferences>"
        f'<preference version="1" name="cot_streams">{"".join(stream)}</preference>'
        f'<preference version="1" name="com.atakmap.app_preferences">{"".join(app)}'
        "</preference></preferences>\n"
    )


def manifest(spec: PackageInput, entries: list[str]) -> str:
    contents = "".join(f'<Content ignore="false" zipEntry={quoteattr(e)}/>' for e in entries)
    name = f"{spec.callsign} {DESCRIPTION} {spec.host}"
    return (
        '<MissionPackageManifest version="2"><Configuration>'
        f'<Parameter name="uid" value="{uuid.uuid4()}"/>'
        f"<Parameter name={quoteattr('name')} value={quoteattr(name)}/>"
        '<Parameter name="onReceiveDelete" value="true"/>'
        f"</Configuration><Contents>{contents}</Contents></MissionPackageManifest>\n"
    )


def atak_package(spec: PackageInput) -> bytes:
    """The zip ATAK and WinTAK import (soft certificate or enrollment)."""
    files: dict[str, bytes] = {
        "certs/server.pref": preferences(spec).encode("ascii"),
        f"certs/{TRUSTSTORE_NAME}": spec.truststore,
    }
    if spec.client_p12 is not None:
        files[f"certs/{spec.callsign}.p12"] = spec.client_p12
    files["MANIFEST/manifest.xml"] = manifest(spec, list(files)).encode("utf-8")
    return _zip(files)


def itak_package(spec: PackageInput) -> bytes:
    """iTAK's flat zip: ``config.pref`` and the ``.p12`` files beside it."""
    files: dict[str, bytes] = {
        "config.pref": preferences(spec, cert_dir="").encode("ascii"),
        TRUSTSTORE_NAME: spec.truststore,
    }
    if spec.client_p12 is not None:
        files[f"{spec.callsign}.p12"] = spec.client_p12
    return _zip(files)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
