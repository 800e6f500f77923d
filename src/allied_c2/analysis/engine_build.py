"""Which build of :mod:`allied_c2.analysis.engine` this process runs: compiled or source.

``make setup`` compiles ``engine.py`` with mypyc (scripts/compile_engine.py) and records
the source's SHA-256 in ``engine.sha256``. Python's import system prefers an extension
module to a ``.py`` of the same name, so an engine edited after the build would be
shadowed by the stale extension: this module, imported by the package before anything
else, loads the source instead whenever the digest no longer matches (or the
extension will not load) and says which it chose in :data:`ENGINE_BUILD`.
``ALLIED_C2_ENGINE=source`` asks for the source (``make bench`` measures both).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES, SourceFileLoader
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_NAME = "allied_c2.analysis.engine"
log = logging.getLogger(__name__)


def _source_only(reason: str) -> str:
    """Import ``engine.py`` itself under the engine's name (later imports get it)."""
    loader = SourceFileLoader(_NAME, str(_HERE / "engine.py"))
    spec = importlib.util.spec_from_loader(_NAME, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    loader.exec_module(module)
    return f"source ({reason})"


def _choose() -> str:
    if _NAME in sys.modules:  # already imported (e.g. by a test): nothing to choose
        loaded = getattr(sys.modules[_NAME], "__file__", "") or ""
        return "compiled (mypyc)" if not loaded.endswith(".py") else "source"
    if os.environ.get("ALLIED_C2_ENGINE") == "source":  # make bench measures both builds
        return _source_only("ALLIED_C2_ENGINE=source")
    built = [_HERE / f"engine{suffix}" for suffix in EXTENSION_SUFFIXES]
    if not any(path.exists() for path in built):
        return _source_only("not compiled")
    stamp = _HERE / "engine.sha256"
    digest = hashlib.sha256((_HERE / "engine.py").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        log.warning("analysis engine: the compiled build is older than engine.py; using source")
        return _source_only("the compiled build is stale: run `make setup`")
    try:
        module = importlib.import_module(_NAME)
    except ImportError as exc:  # e.g. built for another interpreter
        sys.modules.pop(_NAME, None)
        return _source_only(f"the compiled build does not load: {exc}")
    loaded = getattr(module, "__file__", "") or ""
    return "source" if loaded.endswith(".py") else "compiled (mypyc)"


ENGINE_BUILD = _choose()
