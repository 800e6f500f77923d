"""Scenario parameters: ``${name}`` references and ``when:`` conditions.

A scenario declares parameters (e.g. the JFHQ commander's grade, how much
authority is delegated to the JFHQ) with a default and optional choices. Any
string may reference one as ``${name}``; authorities and relationships may
carry ``when: {name: value-or-list}`` and apply only when every named
parameter has one of the listed values. Loading with overrides therefore
yields variants of one structure that the analysis can compare.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml

from allied_c2.alliance.located import Path_

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_VARIANTS = 256  # validation checks every combination; beyond this, defaults only


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    default: object
    choices: tuple[object, ...] = ()
    description: str = ""


class ParameterError(ValueError):
    """An override that names no parameter or picks a value outside its choices."""


def definitions(data: object) -> dict[str, Parameter]:
    """The parameters a (schema-valid or not) document declares; malformed ones skipped."""
    if not isinstance(data, Mapping):
        return {}
    raw = data.get("parameters")
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, Parameter] = {}
    for name, spec in raw.items():
        if isinstance(spec, Mapping) and "default" in spec:
            choices = spec.get("choices")
            out[str(name)] = Parameter(
                name=str(name),
                default=spec["default"],
                choices=tuple(choices) if isinstance(choices, list) else (),
                description=str(spec.get("description", "")),
            )
    return out


def resolve(
    params: Mapping[str, Parameter], overrides: Mapping[str, object] | None
) -> dict[str, object]:
    """Parameter values: defaults, then overrides (strings parsed as YAML scalars)."""
    values = {name: p.default for name, p in params.items()}
    for key, raw in (overrides or {}).items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ParameterError(f"unknown parameter '{key}' (parameters: {known})")
        param = params[key]
        value = raw
        if isinstance(raw, str) and not isinstance(param.default, str):
            value = yaml.safe_load(raw)
        if param.choices and value not in param.choices:
            # "--set grade=O-10" arrives as a string; compare as strings too.
            matches = [c for c in param.choices if str(c) == str(value)]
            if not matches:
                allowed = ", ".join(str(c) for c in param.choices)
                raise ParameterError(
                    f"parameter '{key}' has no choice '{raw}' (choices: {allowed})"
                )
            value = matches[0]
        values[key] = value
    return values


def variants(params: Mapping[str, Parameter]) -> list[dict[str, object]]:
    """Every combination of parameter choices (parameters without choices keep defaults)."""
    names = list(params)
    pools = [list(params[n].choices) or [params[n].default] for n in names]
    combos: list[dict[str, object]] = []
    for combo in itertools.product(*pools):
        combos.append(dict(zip(names, combo, strict=True)))
        if len(combos) >= MAX_VARIANTS:
            return [{n: params[n].default for n in names}]
    return combos or [{}]


def substitute(value: object, values: Mapping[str, object]) -> object:
    """``value`` with every ``${name}`` replaced; a string that is only a reference
    takes the parameter's own type (so ``max_hours: ${hours}`` stays a number)."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return REFERENCE.sub(lambda m: str(values.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def references(value: object, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every ``${name}`` in the document, with its path."""
    if isinstance(value, str):
        for match in REFERENCE.finditer(value):
            yield path, match.group(1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "parameters":  # defaults are literal values
                yield from references(item, (*path, key))


def applies(when: object, values: Mapping[str, object]) -> bool:
    """Whether a ``when:`` condition holds; no condition always holds."""
    if not isinstance(when, Mapping):
        return True
    for name, wanted in when.items():
        options = wanted if isinstance(wanted, list) else [wanted]
        current = values.get(str(name))
        if not any(current == o or str(current) == str(o) for o in options):
            return False
    return True
