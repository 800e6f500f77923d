"""The security policy: level lattice, national equivalence, tetragraphs and COIs.

Everything a release decision needs that is a matter of agreement between
nations rather than of grammar lives here, loaded from TOML. The shipped
default (``allied_c2/config/security-policy.toml``) cites its sources; a
deployment changes the equivalence table by editing a copy, not the code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allied_c2.security.levels import Level, MarkingError, PolicyError, normalise

if TYPE_CHECKING:
    from allied_c2.security.markings import Marking

# What CUI (or FOUO, or NATO UNCLASSIFIED) with no REL TO list means for foreigners.
CUI_RULES = ("originator", "any-nation")


@dataclass(frozen=True, eq=False)
class ClassificationSystem:
    """One marking scheme (US, NATO, a nation's own) and who may originate in it."""

    name: str
    nation: str | None  # whose scheme it is: the owner of an item with no originator
    issuers: frozenset[str]  # nations that may originate markings in it; empty = any
    implicit_release: frozenset[str]  # where classified items without REL TO may go
    levels: tuple[Level, ...]
    local_tokens: Mapping[str, Level]  # short names valid for this scheme's own nationals


@dataclass(frozen=True, eq=False)
class SecurityPolicy:
    """A loaded policy. Compared and hashed by identity: it keys parse caches."""

    lattice: tuple[str, ...]
    systems: Mapping[str, ClassificationSystem]
    tetragraphs: Mapping[str, frozenset[str]]
    countries: frozenset[str]
    sci_controls: frozenset[str]
    restrictive_cois: frozenset[str]
    permissive_cois: frozenset[str]
    default_banner: str = "UNCLASSIFIED"
    cui_without_rel_to: str = "originator"
    common_system: str = "US"
    tokens: Mapping[str, Level] = field(default_factory=dict)

    def level(self, token: str) -> Level:
        """The level a banner or portion token names (``SECRET``, ``S``, ``JPN:GOKUHI``…)."""
        found = self.tokens.get(normalise(token))
        if found is None:
            raise MarkingError(f"unknown classification level '{token.strip()}'")
        return found

    def clearance_level(self, clearance: str, nation: str | None) -> Level:
        """A principal's clearance as a level.

        ``SYSTEM:NAME`` (``JPN:GOKUHI``, ``PHL:CONFIDENTIAL``, ``US:SECRET``) names
        a scheme explicitly. A bare name is read in the principal's own national
        scheme first (a PHL ``CONFIDENTIAL`` is ``PHL CONFIDENTIAL``), then as any
        banner level (a JPN ``SECRET`` is US/common SECRET, ``NATO SECRET``…).
        """
        text = normalise(clearance)
        if nation is not None and ":" not in text:
            for system in self.systems.values():
                if system.nation == nation and text in system.local_tokens:
                    return system.local_tokens[text]
        found = self.tokens.get(text)
        if found is None:
            raise MarkingError(f"unknown clearance '{clearance.strip()}'")
        return found

    def is_code(self, code: str) -> bool:
        return code in self.countries or code in self.tetragraphs

    def expand(self, codes: Iterable[str]) -> frozenset[str]:
        """Country trigraphs with tetragraphs (FVEY, ACGU, NATO) replaced by their members."""
        return expand_codes(codes, self.tetragraphs, self.countries)

    def home_nation(self, system: str) -> str | None:
        found = self.systems.get(system)
        return None if found is None else found.nation

    def is_permissive(self, coi: str) -> bool:
        """Permissive COIs need any one held; everything else (unknown too) needs all."""
        return coi in self.permissive_cois and coi not in self.restrictive_cois

    def rank_name(self, rank: int) -> str:
        return self.lattice[rank]

    def common_level(self, rank: int) -> Level:
        """The lowest level of the common scheme at or above ``rank`` (for mixed roll-ups)."""
        levels = sorted(
            (lv for lv in self.systems[self.common_system].levels if not lv.controlled),
            key=lambda lv: lv.rank,
        )
        for level in levels:
            if level.rank >= rank:
                return level
        return levels[-1]

    @cached_property
    def default_marking(self) -> Marking:
        """The marking given to unmarked events; raises PolicyError if it does not parse."""
        from allied_c2.security.markings import parse_banner  # markings imports this module

        try:
            return parse_banner(self.default_banner, self, strict=False)
        except MarkingError as exc:
            raise PolicyError(f"default_marking '{self.default_banner}': {exc}") from None


def expand_codes(
    codes: Iterable[str], tetragraphs: Mapping[str, frozenset[str]], countries: frozenset[str]
) -> frozenset[str]:
    nations: set[str] = set()
    for code in codes:
        members = tetragraphs.get(code)
        if members is not None:
            nations |= members
        elif code in countries:
            nations.add(code)
        else:
            raise MarkingError(f"unknown country code or tetragraph '{code}'")
    return frozenset(nations)


def _strings(data: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}.{key} must be a list of strings")
    return [normalise(v) for v in value]


def _string(data: Mapping[str, Any], key: str, where: str, default: str | None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise PolicyError(f"{where}.{key} must be a string")
    return None if value is None else normalise(value)


def _build_system(
    name: str,
    data: Mapping[str, Any],
    lattice: tuple[str, ...],
    expand: Callable[[list[str]], frozenset[str]],
    tokens: dict[str, Level],
) -> ClassificationSystem:
    where = f"systems.{name}"
    nation = _string(data, "nation", where, None) or None
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise PolicyError(f"{where}.levels must be a non-empty list of tables")
    levels: list[Level] = []
    local: dict[str, Level] = {}
    for index, raw in enumerate(raw_levels):
        at = f"{where}.levels[{index}]"
        if not isinstance(raw, dict):
            raise PolicyError(f"{at} must be a table")
        level_name = _string(raw, "name", at, None)
        equivalent = _string(raw, "equivalent", at, None)
        if not level_name or not equivalent:
            raise PolicyError(f"{at} needs 'name' and 'equivalent'")
        if equivalent not in lattice:
            raise PolicyError(f"{at}: equivalent '{equivalent}' is not in the lattice")
        controlled = raw.get("controlled", False)
        if not isinstance(controlled, bool):
            raise PolicyError(f"{at}.controlled must be true or false")
        portion = _string(raw, "portion", at, level_name) or level_name
        level = Level(name, level_name, portion, lattice.index(equivalent), controlled, equivalent)
        levels.append(level)
        prefix = f"{name} "
        short = _string(raw, "short", at, None) or level_name.removeprefix(prefix)
        global_names = {level_name, portion, f"{name}:{short}", *_strings(raw, "aliases", at)}
        if nation is not None and nation != name:
            global_names.add(f"{nation}:{short}")
        for token in global_names:
            if token in tokens and tokens[token] != level:
                raise PolicyError(f"{at}: '{token}' already names {tokens[token].name}")
            tokens[token] = level
            local[token] = level
        local.setdefault(short, level)
    return ClassificationSystem(
        name=name,
        nation=nation,
        issuers=expand(_strings(data, "issuers", where)),
        implicit_release=expand(_strings(data, "implicit_release", where)),
        levels=tuple(levels),
        local_tokens=local,
    )


def policy_from_dict(data: Mapping[str, Any]) -> SecurityPolicy:
    """Build and check a policy from parsed TOML (tests build variants this way)."""
    lattice = tuple(_strings(data, "lattice", "policy"))
    if len(lattice) < 2 or len(set(lattice)) != len(lattice):
        raise PolicyError("policy.lattice must list at least two distinct level names")
    countries = frozenset(_strings(data, "countries", "policy"))
    if not countries or any(len(c) != 3 or not c.isalpha() for c in countries):
        raise PolicyError("policy.countries must be ISO 3166-1 alpha-3 codes")
    raw_tetragraphs = data.get("tetragraphs", {})
    if not isinstance(raw_tetragraphs, dict):
        raise PolicyError("policy.tetragraphs must be a table")
    tetragraphs: dict[str, frozenset[str]] = {}
    for tetra in raw_tetragraphs:
        members = frozenset(_strings(raw_tetragraphs, tetra, "tetragraphs"))
        if len(tetra) != 4 or not tetra.isalpha() or not tetra.isupper():
            raise PolicyError(f"tetragraphs.{tetra}: a tetragraph is four capital letters")
        if unknown := sorted(members - countries):
            raise PolicyError(f"tetragraphs.{tetra}: unknown countries {', '.join(unknown)}")
        tetragraphs[tetra] = members

    def expand(codes: list[str]) -> frozenset[str]:
        try:
            return expand_codes(codes, tetragraphs, countries)
        except MarkingError as exc:
            raise PolicyError(f"policy: {exc}") from None

    raw_systems = data.get("systems")
    if not isinstance(raw_systems, dict) or not raw_systems:
        raise PolicyError("policy.systems must be a non-empty table")
    tokens: dict[str, Level] = {}
    systems = {
        normalise(name): _build_system(normalise(name), body, lattice, expand, tokens)
        for name, body in raw_systems.items()
    }
    common = _string(data, "common_system", "policy", "US") or "US"
    if common not in systems:
        raise PolicyError(f"policy.common_system '{common}' is not a defined system")
    cui_rule = data.get("cui_without_rel_to", "originator")
    if cui_rule not in CUI_RULES:
        raise PolicyError(f"policy.cui_without_rel_to must be one of {', '.join(CUI_RULES)}")
    coi = data.get("coi", {})
    if not isinstance(coi, dict):
        raise PolicyError("policy.coi must be a table")
    return SecurityPolicy(
        lattice=lattice,
        systems=systems,
        tetragraphs=tetragraphs,
        countries=countries,
        sci_controls=frozenset(_strings(data, "sci_controls", "policy")),
        restrictive_cois=frozenset(_strings(coi, "restrictive", "coi")),
        permissive_cois=frozenset(_strings(coi, "permissive", "coi")),
        default_banner=_string(data, "default_marking", "policy", "UNCLASSIFIED") or "",
        cui_without_rel_to=cui_rule,
        common_system=common,
        tokens=tokens,
    )


def load_policy(path: Path | None = None) -> SecurityPolicy:
    """Load a policy file; ``None`` loads the shipped default."""
    try:
        if path is None:
            # allied_c2.config is a module (config.py), so the data folder is read
            # through the parent package rather than as a package of its own.
            source = resources.files("allied_c2").joinpath("config/security-policy.toml")
            text = source.read_text(encoding="utf-8")
            where = "shipped security-policy.toml"
        else:
            text = path.read_text(encoding="utf-8")
            where = str(path)
    except OSError as exc:
        raise PolicyError(f"cannot read security policy: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    try:
        return policy_from_dict(data)
    except PolicyError as exc:
        raise PolicyError(f"{where}: {exc}") from None


DEFAULT_POLICY = load_policy(None)
