"""Classification and releasability markings: parse, validate, format, map to CoT.

Grammar (CAPCO, US style, used as the coalition's lingua franca)::

    LEVEL//SCI//SAP//IC-DISSEM//NON-IC-DISSEM//COI NAMES

``//`` separates categories, ``/`` values inside one, ``REL TO`` lists use
``, ``. Portion forms are the same inside parentheses with abbreviations
(``(S//REL TO USA, JPN)``, ``(C//NF)``). NATO, Japanese and Philippine levels
take the level position (``NATO SECRET``, ``JPN GOKUHI``; a leading ``//`` as
CAPCO writes foreign markings is accepted). ``COI`` is an allied-c2 extension
carrying need-to-know communities, which CAPCO has no category for.

Two parsing modes: ``strict=True`` (the default for ``parse_banner``) reports
non-canonical REL TO order (00214, 00041) and control order (00041) as errors;
``strict=False`` (the CoT ingest path) normalises them, since their meaning is
unambiguous, and also accepts a REL TO list without USA, which a JPN or PHL
originator may legitimately write. Every other rule refuses in both modes.
Rendering (``banner()``, ``portion()``) is always canonical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from allied_c2.security import controls as ctl
from allied_c2.security.levels import Level, MarkingError, normalise, ordered_countries
from allied_c2.security.policy import DEFAULT_POLICY, SecurityPolicy

__all__ = [
    "Marking",
    "MarkingError",
    "is_unmarked_access",
    "marking_from_cot",
    "marking_to_cot",
    "parse_banner",
    "rollup",
]


@dataclass(frozen=True, slots=True)
class Marking:
    """A parsed, valid marking. Hashable with a precomputed hash: it keys release caches."""

    level: str  # canonical name in its scheme: "SECRET", "NATO SECRET", "JPN GOKUHI"
    rank: int  # in the common lattice of the policy it was parsed with
    system: str = "US"  # "US", "NATO", "JPN", "PHL"
    abbrev: str = ""  # the level's portion form: "S", "NS", "JPN GOKUHI"
    controlled: bool = False  # CUI-like: unclassified but not public
    sci: frozenset[str] = frozenset()
    sap: frozenset[str] = frozenset()  # program identifiers, without "SAR-"
    dissem: frozenset[str] = frozenset()  # canonical control names, incl. "REL TO"
    rel_to: frozenset[str] = frozenset()  # REL TO / EYES ONLY list as written (tetragraphs kept)
    rel_to_expanded: frozenset[str] = frozenset()  # the same as nation trigraphs
    display_only: frozenset[str] = frozenset()
    cois: frozenset[str] = frozenset()
    originator: str | None = None  # the originating nation, set by the server
    # The level's name in the policy's common lattice ("SECRET" for JPN GOKUHI): what
    # the marking is shown as (security.display); "" when unknown, shown fail closed.
    equivalent: str = ""
    _hash: int = field(init=False, repr=False, compare=False)
    # Renderings, computed on first use: every event carries one of a few markings,
    # so the relay and the history writer would otherwise format the same one again.
    _banner: str | None = field(default=None, init=False, repr=False, compare=False)
    _portion: str | None = field(default=None, init=False, repr=False, compare=False)
    _cot: tuple[str, str | None, str | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        key = (
            self.level,
            self.rank,
            self.system,
            self.abbrev,
            self.controlled,
            self.sci,
            self.sap,
            self.dissem,
            self.rel_to,
            self.rel_to_expanded,
            self.display_only,
            self.cois,
            self.originator,
        )
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    @property
    def classified(self) -> bool:
        return self.rank > 0

    @property
    def is_public(self) -> bool:
        """Releasable to everyone, including the anonymous profile."""
        return not (
            self.rank or self.controlled or self.dissem or self.cois or self.sci or self.sap
        )

    def with_originator(self, nation: str | None) -> Marking:
        """This marking as originated by ``nation`` (the server sets it from the sender)."""
        return self if nation == self.originator else _with_originator(self, nation)

    def banner(self) -> str:
        banner = self._banner
        if banner is None:
            banner = "//".join([self.level, *self._categories(portion=False, bare_lists=False)])
            object.__setattr__(self, "_banner", banner)
        return banner

    def portion(self) -> str:
        portion = self._portion
        if portion is None:
            categories = self._categories(portion=True, bare_lists=False)
            portion = "(" + "//".join([self.abbrev, *categories]) + ")"
            object.__setattr__(self, "_portion", portion)
        return portion

    def _categories(self, *, portion: bool, bare_lists: bool) -> list[str]:
        """Everything after the level; ``bare_lists`` leaves REL TO's countries out (CoT)."""
        categories: list[str] = []
        if self.sci:
            categories.append("/".join(sorted(self.sci)))
        if self.sap:
            categories.append("/".join(f"SAR-{program}" for program in sorted(self.sap)))
        ic: list[str] = []
        non_ic: list[str] = []
        for control in ctl.CONTROLS:
            if control.name not in self.dissem:
                continue
            if control.name == ctl.REL_TO:
                text = ctl.REL_TO
                if not bare_lists:
                    text += " " + ", ".join(ordered_countries(self.rel_to))
            elif control.name == ctl.EYES_ONLY:
                text = control.portion if portion else control.name
                if not bare_lists:
                    text = "/".join(ordered_countries(self.rel_to)) + " " + text
            elif control.name == ctl.DISPLAY_ONLY:
                text = ctl.DISPLAY_ONLY + " " + ", ".join(ordered_countries(self.display_only))
            else:
                text = control.portion if portion else control.name
            (ic if control.ic else non_ic).append(text)
        categories += ["/".join(group) for group in (ic, non_ic) if group]
        if self.cois:
            categories.append("COI " + "/".join(sorted(self.cois)))
        return categories


@lru_cache(maxsize=4096)
def _with_originator(marking: Marking, nation: str | None) -> Marking:
    # Memoised so that events from one sender share one Marking object: the
    # release cache's dict lookup then succeeds on identity, without __eq__.
    return replace(marking, originator=nation)


def _marking(level: Level, **values: Any) -> Marking:
    return Marking(
        level.name,
        level.rank,
        level.system,
        level.portion,
        level.controlled,
        equivalent=level.equivalent,
        **values,
    )


# ---------------------------------------------------------------------- parsing

_EYES = re.compile(r"[A-Z]{3,4} EYES(?: ONLY)?")
_SEPARATORS = re.compile(r"[,\s]+")
# SCI compartments and SAP program names: letters, digits, and single spaces or hyphens
# between them (SI-G ABCD, SAR-BP). Anything else (a NUL, a parenthesis) made a
# marking whose own banner did not parse back (found by fuzzing, fuzz/targets.py).
_NAME = re.compile(r"[A-Z0-9]+(?:[ -][A-Z0-9]+)*")


def _codes(text: str) -> list[str]:
    return [code for code in _SEPARATORS.split(text.strip().upper()) if code]


@dataclass
class _Parts:
    sci: set[str] = field(default_factory=set)
    sap: set[str] = field(default_factory=set)
    dissem: set[str] = field(default_factory=set)
    rel_to: list[str] | None = None
    display_only: list[str] | None = None
    cois: set[str] = field(default_factory=set)


def _set_list(parts: _Parts, control: str, codes: list[str]) -> None:
    if control in parts.dissem:
        raise MarkingError(f"{control} appears twice")
    if control == ctl.DISPLAY_ONLY:
        parts.display_only = codes
    else:
        if parts.rel_to is not None:
            raise MarkingError("REL TO and EYES ONLY cannot both be used")
        parts.rel_to = codes
    parts.dissem.add(control)


def _read_category(category: str, policy: SecurityPolicy, strict: bool, parts: _Parts) -> None:
    if category.startswith("COI "):
        names = [name.strip() for name in category[4:].split("/")]
        if not all(names):
            raise MarkingError(f"empty COI name in '{category}'")
        parts.cois.update(names)
        return
    values = category.split("/")
    eyes = next((i for i, v in enumerate(values) if _EYES.fullmatch(v)), None)
    if eyes is not None:
        # "USA/GBR EYES ONLY": the list is the codes just before, joined by "/" too.
        first = eyes
        while first > 0 and policy.is_code(values[first - 1]):
            first -= 1
        codes = [*values[first:eyes], values[eyes].split(" ")[0]]
        _set_list(parts, ctl.EYES_ONLY, codes)
        values = values[:first] + values[eyes + 1 :]
    order: list[str] = []
    for value in values:
        if value in ("REL", ctl.REL_TO) or value.startswith(ctl.REL_TO + " "):
            _set_list(parts, ctl.REL_TO, _codes(value[len("REL") :].removeprefix(" TO")))
            order.append(ctl.REL_TO)
        elif value in ("EYES", ctl.EYES_ONLY):
            _set_list(parts, ctl.EYES_ONLY, [])
        elif value.startswith(ctl.DISPLAY_ONLY):
            _set_list(parts, ctl.DISPLAY_ONLY, _codes(value[len(ctl.DISPLAY_ONLY) :]))
            order.append(ctl.DISPLAY_ONLY)
        elif value.startswith(("SAR-", "SPECIAL ACCESS REQUIRED-")) and value.partition("-")[2]:
            if not _NAME.fullmatch(value.partition("-")[2]):
                raise MarkingError(f"malformed special access program '{value}'")
            parts.sap.add(value.partition("-")[2])
        elif (control := ctl.BY_TOKEN.get(value)) is not None:
            parts.dissem.add(control.name)
            order.append(control.name)
        elif value.partition("-")[0] in policy.sci_controls:
            if not _NAME.fullmatch(value):
                raise MarkingError(f"malformed SCI control '{value}'")
            parts.sci.add(value)
        else:
            raise MarkingError(f"unknown marking '{value}'")
    if strict and order != sorted(order, key=ctl.ORDER.__getitem__):
        expected = "/".join(sorted(order, key=ctl.ORDER.__getitem__))
        raise MarkingError(
            f"dissemination controls must follow the register's order: {expected}", "00041"
        )


def _check_rel_order(codes: list[str], system: str, policy: SecurityPolicy) -> None:
    written = "REL TO " + ", ".join(codes)
    for code in codes:
        if codes.count(code) > 1:
            raise MarkingError(f"{written}: {code} is listed twice", "00041")
    if codes and (codes[0] != "USA" if "USA" in codes else system == policy.common_system):
        raise MarkingError(f"a REL TO list starts with USA (got {written})", "00214")
    if codes != ordered_countries(codes):
        raise MarkingError(
            f"REL TO lists USA, then trigraphs A-Z, then tetragraphs A-Z "
            f"(got {written}; write REL TO {', '.join(ordered_countries(codes))})",
            "00041",
        )


def _validate(level: Level, parts: _Parts, dissem: set[str]) -> None:
    listed = ctl.EYES_ONLY if ctl.EYES_ONLY in dissem else ctl.REL_TO
    if ctl.NOFORN in dissem and parts.rel_to is not None:
        raise MarkingError(f"NOFORN and {listed} exclude each other")
    exclusive = [control for control in ctl.EXCLUSIVE if control in dissem]
    if len(exclusive) > 1:
        raise MarkingError(
            f"NOFORN, RELIDO and DISPLAY ONLY exclude each other (got {'/'.join(exclusive)})",
            "00169",
        )
    if parts.rel_to is not None and not parts.rel_to:
        raise MarkingError(f"{listed} needs its list of countries", "00031")
    if parts.display_only is not None and not parts.display_only:
        raise MarkingError("DISPLAY ONLY needs its list of countries", "00213")
    for control in (ctl.ORCON, ctl.EYES_ONLY):
        if control in dissem and not level.classified:
            raise MarkingError(f"{control} needs a classified level (got {level.name})", "00028")
    if ctl.FOUO in dissem and (level.classified or level.controlled):
        raise MarkingError(f"FOUO is only used with UNCLASSIFIED (got {level.name})")
    if (parts.sci or parts.sap) and not level.classified:
        raise MarkingError(f"SCI and SAP controls need a classified level (got {level.name})")


def _build(level: Level, parts: _Parts, policy: SecurityPolicy, strict: bool) -> Marking:
    if parts.rel_to:
        rel_expanded = policy.expand(parts.rel_to)
        if strict:
            _check_rel_order(parts.rel_to, level.system, policy)
    else:
        rel_expanded = frozenset()
    policy.expand(parts.display_only or ())
    _validate(level, parts, parts.dissem)
    if parts.rel_to and len(rel_expanded) < 2:
        listed = ctl.EYES_ONLY if ctl.EYES_ONLY in parts.dissem else ctl.REL_TO
        raise MarkingError(
            f"{listed} needs more than one country (got {', '.join(parts.rel_to)})", "00319"
        )
    return _marking(
        level,
        sci=frozenset(parts.sci),
        sap=frozenset(parts.sap),
        dissem=frozenset(parts.dissem),
        rel_to=frozenset(parts.rel_to or ()),
        rel_to_expanded=rel_expanded,
        display_only=frozenset(parts.display_only or ()),
        cois=frozenset(parts.cois),
    )


@lru_cache(maxsize=4096)
def _parse(text: str, policy: SecurityPolicy, strict: bool) -> Marking:
    raw = text.strip()
    if not raw:
        raise MarkingError("empty marking")
    is_portion = raw.startswith("(")
    if is_portion != raw.endswith(")"):
        raise MarkingError(f"unbalanced parentheses in '{raw}'")
    body = re.sub(r"\s*/\s*", "/", normalise(raw[1:-1] if is_portion else raw))
    categories = body.removeprefix("//").split("//")
    if not all(categories):
        raise MarkingError(f"empty category in '{raw}'")
    level = policy.level(categories[0])
    parts = _Parts()
    for category in categories[1:]:
        _read_category(category, policy, strict, parts)
    return _build(level, parts, policy, strict)


def parse_banner(
    text: str, policy: SecurityPolicy = DEFAULT_POLICY, *, strict: bool = True
) -> Marking:
    """Parse a banner (``SECRET//REL TO USA, JPN``) or portion (``(S//NF)``) marking.

    Raises MarkingError with a one-line reason naming the rule broken.
    """
    return _parse(text, policy, strict)


# ------------------------------------------------------------------------- CoT


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


# What TAK clients write in ``access`` when the user chose no marking: ATAK 5.x,
# WearTAK and CloudTAK send access="Undefined" (case varies between tools).
_NO_MARKING = frozenset({"undefined"})


def is_unmarked_access(access: str | None) -> bool:
    """Whether ``access`` means "no marking": absent, blank or ``Undefined`` in any case."""
    value = _blank(access)
    return value is None or value.casefold() in _NO_MARKING


def _compose(access: str, caveat: str | None, countries: list[str]) -> str:
    """A banner from CoT's separate level, caveat and releasableTo."""
    if caveat is None:
        return access + (f"//REL TO {', '.join(countries)}" if countries else "")
    categories = re.sub(r"\s*/\s*", "/", normalise(caveat)).removeprefix("//").split("//")
    placed = False
    written: list[str] | None = None
    for index, category in enumerate(categories):
        values = category.split("/")
        for position, value in enumerate(values):
            if value in ("REL TO", "REL") and countries:
                values[position] = "REL TO " + ", ".join(countries)
                placed = True
            elif value in ("EYES ONLY", "EYES") and countries:
                values[position] = "/".join(countries) + " EYES ONLY"
                placed = True
            elif value.startswith("REL TO "):
                written = _codes(value[len("REL TO ") :])
        categories[index] = "/".join(values)
    if countries and not placed:
        if written is None:
            raise MarkingError(
                f"releasableTo is given but caveat '{caveat}' has no REL TO", "00032"
            )
        if set(written) != set(countries):
            raise MarkingError(
                f"caveat '{caveat}' disagrees with releasableTo '{' '.join(countries)}'"
            )
    return access + "//" + "//".join(categories)


@lru_cache(maxsize=4096)
def _from_cot(
    access: str | None,
    caveat: str | None,
    releasable_to: str | None,
    policy: SecurityPolicy,
    default: Marking | None,
) -> Marking:
    if access is None and caveat is None and releasable_to is None:
        return default if default is not None else policy.default_marking
    if access is None:
        raise MarkingError("caveat or releasableTo without access: a marking needs its level")
    countries = _codes(releasable_to or "")
    if "//" in access.lstrip("/ ") or access.startswith("("):
        marking = parse_banner(access, policy, strict=False)
        if caveat is not None or countries:
            separate = parse_banner(
                _compose(marking.level, caveat, countries), policy, strict=False
            )
            if separate != marking:
                raise MarkingError(f"access '{access}' disagrees with caveat/releasableTo")
        return marking
    return parse_banner(_compose(access, caveat, countries), policy, strict=False)


def marking_from_cot(
    access: str | None,
    caveat: str | None,
    releasable_to: str | None,
    policy: SecurityPolicy = DEFAULT_POLICY,
    default: Marking | None = None,
) -> Marking:
    """The marking of a CoT event from its ``access``, ``caveat`` and ``releasableTo``.

    ``access`` is a level or a whole banner; ``caveat`` the controls after the
    level as written in a banner (``REL TO``, ``NOFORN``, ``SI//RELIDO``);
    ``releasableTo`` countries separated by spaces or commas, in any order.
    All three absent gives ``default`` or the policy's default marking; an
    ``access`` of ``Undefined`` (any case) counts as absent, as clients mean it.
    """
    level = None if is_unmarked_access(access) else _blank(access)
    return _from_cot(level, _blank(caveat), _blank(releasable_to), policy, default)


def marking_to_cot(m: Marking) -> tuple[str, str | None, str | None]:
    """``(access, caveat, releasableTo)`` for a CoT event or TAK protobuf ``CotEvent``."""
    cot = m._cot
    if cot is None:
        caveat = "//".join(m._categories(portion=False, bare_lists=True)) or None
        releasable = " ".join(ordered_countries(m.rel_to)) or None
        cot = (m.level, caveat, releasable)
        object.__setattr__(m, "_cot", cot)
    return cot


def rollup(markings: Iterable[Marking], policy: SecurityPolicy = DEFAULT_POLICY) -> Marking:
    """The banner for a view of many items: highest level, NOFORN wins, REL TO intersects.

    Empty gives the policy's lowest common level (UNCLASSIFIED).
    """
    from allied_c2.security.rollup import rollup_markings  # it builds on this module

    return rollup_markings(markings, policy)
