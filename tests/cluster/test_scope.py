"""A node's scope (--cluster-serves) and the seen window, without NATS."""

from __future__ import annotations

import pytest

from allied_c2.cluster.scope import NodeScope, ScopeError
from allied_c2.cluster.seen import SeenWindow
from allied_c2.cluster.wire import subject_for
from allied_c2.security.markings import parse_banner
from allied_c2.security.policy import load_policy
from allied_c2.security.principals import Principal


def _matches(subject: str, pattern: str) -> bool:
    s, p = subject.split("."), pattern.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(s) == len(p)


def test_a_narrowed_node_subscribes_to_what_its_principals_could_see_and_no_more() -> None:
    policy = load_policy()
    scope = NodeScope.parse("JPN:SECRET", policy)
    subjects = scope.subjects("p", policy)

    def carried(banner: str, originator: str) -> bool:
        marking = parse_banner(banner, policy).with_originator(originator)
        return any(_matches(subject_for("p", marking), s) for s in subjects)

    assert carried("UNCLASSIFIED", "USA")
    assert carried("SECRET//REL TO USA, JPN", "USA")
    assert carried("SECRET//REL TO USA, GBR", "USA")  # REL TO: decided per reader
    assert carried("SECRET//NOFORN", "JPN")
    assert not carried("SECRET//NOFORN", "USA")
    assert not carried("TOP SECRET//REL TO USA, JPN", "USA")
    assert NodeScope.parse(None, policy).subjects("p", policy) == ("p.ev.>",)


def test_a_narrowed_node_admits_only_its_nations_up_to_its_level() -> None:
    policy = load_policy()
    scope = NodeScope.parse("JPN:SECRET", policy)
    assert scope.admits(Principal(callsign="J", nation="JPN", clearance="SECRET"), policy) is None
    assert scope.admits(Principal(callsign="U", nation="USA", clearance="SECRET"), policy)
    assert scope.admits(Principal(callsign="T", nation="JPN", clearance="TOP SECRET"), policy)
    with pytest.raises(ScopeError):
        NodeScope.parse("XXX:SECRET", policy)
    with pytest.raises(ScopeError):
        NodeScope.parse("JPN:SUPER", policy)


def test_the_seen_window_drops_copies_and_forgets_only_what_is_old() -> None:
    window = SeenWindow(span=10.0)
    assert window.first(("run", 1), 100.0)
    assert not window.first(("run", 1), 100.0)  # a resend or a replay's overlap
    assert window.first(("run", 2), 105.0)
    assert window.first(("run", 3), 120.0)  # 1 is now older than the span: forgotten
    assert window.first(("run", 1), 100.0)
    assert len(window) <= 3
