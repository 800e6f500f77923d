"""A command structure drawn as a rich Tree: chains, relation labels, counterparts, authorities."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree

from allied_c2.alliance.model import Relation, Structure

NAMES = {
    Relation.COCOM: "COCOM",
    Relation.OPCON: "OPCON",
    Relation.TACON: "TACON",
    Relation.ADCON: "ADCON",
    Relation.DIRECT_SUPPORT: "DS",
    Relation.GENERAL_SUPPORT: "GS",
    Relation.COORDINATION: "COORD",
    Relation.COUNTERPART: "counterpart",
}


def render(structure: Structure, root: str | None = None) -> Tree:
    """The structure (or the subtree under ``root``) and its decision authorities."""
    tree = Tree(f"[bold]{escape(structure.name)}[/]  [dim]{escape(structure.default_marking)}[/]")
    if structure.parameters:
        shown = ", ".join(f"{k}={v}" for k, v in structure.parameters.items())
        tree.add(f"[dim]parameters: {escape(shown)}[/]")
    tops = (
        [root]
        if root
        else [o for o in structure.organisations if structure.command_parent(o) is None]
    )
    by_nation: dict[str, Tree] = {}
    for top in tops:
        nation = structure.org(top).nation
        if nation not in by_nation:
            by_nation[nation] = tree.add(f"[bold cyan]{nation}[/]")
        _add(structure, by_nation[nation], top, None, set())
    _authorities(structure, tree, set(structure.subtree(root)) if root else None)
    return tree


def _label(structure: Structure, org_id: str, relation: Relation | None) -> str:
    org = structure.org(org_id)
    via = f"[yellow]{NAMES[relation]}[/] " if relation else ""
    grade = f", {org.commander_grade}" if org.commander_grade else ""
    synthetic = " [magenta](synthetic)[/]" if org.synthetic else ""
    marking = f" [red]{escape(org.marking)}[/]" if org.marking else ""
    native = f" {escape(org.native_name)}" if org.native_name else ""
    return (
        f"{via}[bold]{escape(org.id)}[/] {escape(org.name)}{native} "
        f"[dim]({org.kind.value}{grade}; {org.timezone})[/]{synthetic}{marking}"
    )


def _add(
    structure: Structure, parent: Tree, org_id: str, relation: Relation | None, seen: set[str]
) -> None:
    node = parent.add(_label(structure, org_id, relation))
    seen.add(org_id)
    extras: list[str] = []
    for rel in structure.relations_of(org_id):
        if rel.relation is Relation.COUNTERPART:
            other = rel.subordinate if rel.superior == org_id else rel.superior
            extras.append(f"[green]⇄ counterpart[/] {other} ({structure.org(other).nation})")
        elif rel.subordinate == org_id and structure.command_parent(org_id) != rel.superior:
            extras.append(f"[dim]also {NAMES[rel.relation]} from {rel.superior}[/]")
        elif rel.superior == org_id and (
            not rel.relation.is_command or structure.command_parent(rel.subordinate) != org_id
        ):
            extras.append(f"[dim]{NAMES[rel.relation]} → {rel.subordinate}[/]")
    for extra in extras:
        node.add(extra)
    for rel in structure.relationships:
        child = rel.subordinate
        command = rel.superior == org_id and rel.relation.is_command and child not in seen
        if command and structure.command_parent(child) == org_id:
            _add(structure, node, child, rel.relation, seen)


def _authorities(structure: Structure, tree: Tree, within: set[str] | None) -> None:
    branch = tree.add("[bold]decision authorities[/]")
    for kind in structure.request_kinds.values():
        rules = [
            r
            for r in structure.authorities
            if r.request_kind == kind.id and (within is None or r.decider in within)
        ]
        if not rules:
            continue
        flag = " [green](bilateral)[/]" if kind.bilateral else ""
        node = branch.add(f"{escape(kind.title)} [dim]{kind.id}[/]{flag}")
        for rule in rules:
            parts = [f"{rule.nation}: [bold]{rule.decider}[/]"]
            if rule.forces:
                parts.append("for " + ", ".join(rule.forces))
            if rule.delegated_from:
                parts.append(f"delegated from {rule.delegated_from}")
            if rule.consult_counterpart:
                counterparts = ", ".join(structure.counterparts(rule.decider)) or "none"
                parts.append(f"consults {counterparts}")
            parts.append(f"within {rule.max_hours:g} h")
            node.add("; ".join(parts))
