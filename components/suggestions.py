"""Close matches for a mistyped name, as git and cargo suggest them ("did you mean ...?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest of choices, else ''."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{found[0]}"?)' if found else ""
