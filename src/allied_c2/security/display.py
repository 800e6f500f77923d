"""How a marking is shown: its banner, its portion and the colour of its level.

The web page renders exactly what this module says; it has no marking parser of its
own. The colour follows the conventional banner colours and is chosen by the level's
place in the policy's **common lattice**, so a national level is coloured as its
equivalent (JPN GOKUHI as SECRET, PHL CONFIDENTIAL and JPN HI as CONFIDENTIAL, NATO
RESTRICTED as RESTRICTED). A lattice level this module has no colour for is shown as
TOP SECRET (fail closed), as is anything the page cannot have the server mark.
"""

from __future__ import annotations

from allied_c2.security.markings import Marking

# The display classes of the web page (frontend/src/style.css), lowest first.
UNCLASSIFIED_CLASS = "mk-u"
CONTROLLED_CLASS = "mk-cui"  # unclassified but not public: CUI, NATO UNCLASSIFIED
TOP_SECRET_SCI_CLASS = "mk-ts-sci"
FAIL_CLOSED_CLASS = "mk-ts"
DISPLAY_CLASSES = ("mk-u", "mk-cui", "mk-r", "mk-c", "mk-s", "mk-ts", "mk-ts-sci")

# What the page shows when the server could not mark what is on screen.
UNKNOWN_BANNER = "MARKING UNKNOWN"

_BY_LATTICE_LEVEL = {
    "UNCLASSIFIED": UNCLASSIFIED_CLASS,
    "RESTRICTED": "mk-r",
    "CONFIDENTIAL": "mk-c",
    "SECRET": "mk-s",
    "TOP SECRET": FAIL_CLOSED_CLASS,
}


def display_class(marking: Marking) -> str:
    """The page's CSS class for ``marking``: its common-lattice level's colour.

    UNCLASSIFIED that is controlled (CUI, NATO UNCLASSIFIED) is ``mk-cui``; TOP SECRET
    with SCI controls is ``mk-ts-sci``; a lattice name without a colour (a policy with
    its own lattice) is ``mk-ts``.
    """
    shown = _BY_LATTICE_LEVEL.get(marking.equivalent)
    if shown is None:
        return FAIL_CLOSED_CLASS
    if shown == UNCLASSIFIED_CLASS and marking.controlled:
        return CONTROLLED_CLASS
    if shown == FAIL_CLOSED_CLASS and marking.sci:
        return TOP_SECRET_SCI_CLASS
    return shown


def marking_json(marking: Marking) -> dict[str, str | None]:
    """A marking as the API and the WebSocket send it (docs/api.md).

    ``originator`` (the originating nation, or null) is part of it so that a roll-up
    the page asks for (``POST /api/v1/markings/rollup``) is the server's own.
    """
    return {
        "banner": marking.banner(),
        "portion": marking.portion(),
        "class": display_class(marking),
        "originator": marking.originator,
    }
