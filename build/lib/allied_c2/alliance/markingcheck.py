"""Is a banner marking well formed? Used by scenario validation.

The authority on markings is ``allied_c2.security.markings.parse_banner``;
when that module is present it decides. Until then (it is being written in
parallel) a small grammar covers what scenario files use: a level, then
``//``-separated controls, with the IC-ISM rules that matter most here
(REL TO starts with USA and names more than one country; NOFORN and REL TO
exclude each other).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

LEVELS = ("UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET", "CUI")
CONTROL = re.compile(
    r"^(NOFORN|FOUO|RELIDO|ORCON|PROPIN|IMCON|FISA|SI|TK|SI/TK|HCS|"
    r"REL TO [A-Z]{3,4}(, [A-Z]{3,4})*|DISPLAY ONLY [A-Z]{3}(, [A-Z]{3})*)$"
)


def _authority() -> Callable[[str], object] | None:
    try:
        module = importlib.import_module("allied_c2.security.markings")
    except ImportError:
        return None
    parser = getattr(module, "parse_banner", None)
    return parser if callable(parser) else None


def marking_problem(banner: str) -> str | None:
    """Why ``banner`` is not a valid marking, or None when it is."""
    parse_banner = _authority()
    if parse_banner is not None:
        try:
            parse_banner(banner)
        except Exception as exc:  # the parser's own error type is its business
            return str(exc) or type(exc).__name__
        return None
    return _fallback(banner)


def _fallback(banner: str) -> str | None:
    parts = banner.split("//")
    if parts[0] not in LEVELS:
        return f"unknown classification level '{parts[0]}'"
    controls = parts[1:]
    for control in controls:
        if not CONTROL.match(control):
            return f"unknown control '{control}'"
    rel = [c for c in controls if c.startswith("REL TO ")]
    if rel:
        countries = rel[0][len("REL TO ") :].split(", ")
        if countries[0] != "USA":
            return "a REL TO list starts with USA"
        if len(countries) < 2:
            return "REL TO needs more than one country"
        if "NOFORN" in controls:
            return "NOFORN and REL TO exclude each other"
    return None
