"""Request bodies streamed into the file store: multipart (``assetfile``) or raw.

Nothing is held whole in memory: each chunk the ASGI server hands over goes
to :class:`~allied_c2.server.filestore.Upload` (hashed, bounded, on disk). The
multipart parser is python-multipart's streaming one (what Starlette uses),
driven here so the file part goes to the store rather than to a spooled
temporary file. Small form fields (a ``marking``, a ``name``) are kept, each
bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from allied_c2.server.filestore import FileStore, Stored, TooLarge, Upload

FILE_PART = "assetfile"  # ATAK's part name (commo missionpackagemanager.cpp)
MAX_FIELD = 4096


@dataclass
class Received:
    stored: Stored
    filename: str | None = None
    content_type: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


class _Parts:
    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.file_seen = False
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._name: str | None = None
        self._is_file = False
        self._buffer = bytearray()

    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._is_file = False
        self._buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._name = name
        # The file is the `assetfile` part, or else the first part that carries a file name.
        self._is_file = not self.file_seen and (name == FILE_PART or filename is not None)
        if self._is_file:
            self.file_seen = True
            self.filename = filename.decode("utf-8", "replace") if filename else None
            self.content_type = self._headers.get("content-type")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.upload.write(data[start:end])
        else:
            self._buffer += data[start:end]
            if len(self._buffer) > MAX_FIELD:
                raise HTTPException(413, f"form field {self._name!r} over {MAX_FIELD} bytes")

    def on_part_end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")


async def receive_file(
    request: Request, files: FileStore, expected_hash: str | None = None
) -> Received:
    """The request's file (multipart ``assetfile``, or the raw body), stored under its hash.

    413 past the store's bound (the rest is not read), 400 when a claimed hash
    does not match the content (the upload is discarded).
    """
    upload = files.begin()
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    try:
        if content_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise HTTPException(400, "multipart body without a boundary")
            parts = _Parts(upload)
            parser = MultipartParser(boundary, _callbacks(parts))  # type: ignore[arg-type]
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
            if not parts.file_seen:
                raise HTTPException(400, f"no {FILE_PART!r} part in the multipart body")
            received = Received(
                upload.finish(expected_hash), parts.filename, parts.content_type, parts.fields
            )
        else:
            async for chunk in request.stream():
                upload.write(chunk)
            kind = content_type.decode("latin-1") if content_type else None
            received = Received(upload.finish(expected_hash), None, kind)
    except TooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except HTTPException:
        upload.abort()
        raise
    except ValueError as exc:  # a hash mismatch, a malformed multipart body
        upload.abort()
        raise HTTPException(400, str(exc)) from None
    except BaseException:
        upload.abort()
        raise
    return received


def _callbacks(parts: _Parts) -> dict[str, object]:
    return {
        "on_part_begin": parts.on_part_begin,
        "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end,
        "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value,
        "on_header_end": parts.on_header_end,
        "on_headers_finished": parts.on_headers_finished,
    }
