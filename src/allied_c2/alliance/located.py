"""YAML read into plain data with the line of every node kept.

Scenario problems must be reported as ``file:line``; PyYAML's constructed
objects forget where they came from, so this walks the composed node graph
instead and records a line for every path (``("organisations", 3, "timezone")``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import yaml
from yaml.constructor import SafeConstructor

Path_ = tuple[str | int, ...]

# libyaml when present (about ten times faster); both keep node marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    line: int
    message: str


@dataclass(slots=True)
class Located:
    """Plain data (dicts, lists, scalars) plus the line of each path."""

    data: object
    lines: dict[Path_, int] = field(default_factory=dict)
    key_lines: dict[Path_, int] = field(default_factory=dict)  # line of the key itself
    problems: list[SyntaxProblem] = field(default_factory=list)

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest recorded ancestor."""
        current = tuple(path)
        while current:
            if current in self.lines:
                return self.lines[current]
            current = current[:-1]
        return self.lines.get((), 1)


def parse(text: str) -> Located:
    """Parse one YAML document; syntax errors and duplicate keys become problems."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        located = Located(data=None)
        if node is None:
            located.lines[()] = 1
            return located
        # Constructing values can fail too (an unknown tag such as ``!O-6``, found by
        # fuzzing, fuzz/targets.py): a problem to report, not a traceback.
        located.data = _convert(node, (), located, SafeConstructor())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        detail = exc.problem or exc.context or "invalid YAML"
        return Located(data=None, problems=[SyntaxProblem(line, f"YAML syntax error: {detail}")])
    except yaml.YAMLError as exc:
        return Located(data=None, problems=[SyntaxProblem(1, f"YAML syntax error: {exc}")])
    return located


def _convert(node: yaml.Node, path: Path_, out: Located, constructor: SafeConstructor) -> object:
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            key_text = str(key)
            if key_text in result:
                first = out.key_lines.get((*path, key_text), 0)
                out.problems.append(
                    SyntaxProblem(
                        key_node.start_mark.line + 1,
                        f"duplicate key '{key_text}' (first at line {first})",
                    )
                )
                continue
            out.key_lines[(*path, key_text)] = key_node.start_mark.line + 1
            result[key_text] = _convert(value_node, (*path, key_text), out, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, index), out, constructor)
            for index, item in enumerate(node.value)
        ]
    value = constructor.construct_object(node, deep=True)
    # Unquoted timestamps become datetimes in YAML; the format wants ISO strings.
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat() + "Z"
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
