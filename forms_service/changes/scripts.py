"""Letters of several scripts in one value: look-alikes (a Cyrillic 'а' in a Latin name).

A proposed name or address mixing scripts is not refused (people have such names), but it
never skips the clerk: `settlement.field_rows` sends it to review with the reason
`mixed_scripts` and the scripts found, which the change-set page shows.
"""

from __future__ import annotations

import unicodedata

#: The reason a change goes to review whatever its policy (in the row's evidence).
MIXED_SCRIPTS = "mixed_scripts"
#: Scripts written together in one language: counted as one.
_TOGETHER = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "BOPOMOFO": "CJK"}
#: Letters named after no script (ordinal indicators, modifier letters): of every script.
_NO_SCRIPT = frozenset({"FEMININE", "MASCULINE", "MODIFIER"})


def scripts_of(text: str) -> frozenset[str]:
    """The scripts of the letters of `text` ("LATIN", "CYRILLIC", "GREEK", "FULLWIDTH"…).

    A letter's script is the first word of its Unicode name, so that look-alike forms
    (fullwidth, mathematical letters) count as scripts of their own; digits, punctuation,
    spaces and combining accents belong to every script.
    """
    found = set()
    for character in text:
        if not unicodedata.category(character).startswith("L"):
            continue
        if unicodedata.category(character) == "Lm":
            continue
        script = unicodedata.name(character, "UNKNOWN").split(" ", 1)[0]
        if script not in _NO_SCRIPT:
            found.add(_TOGETHER.get(script, script))
    return frozenset(found)


def mixed_scripts(text: str | None) -> tuple[str, ...]:
    """The scripts of `text`, sorted, when its letters come from two or more; else ()."""
    if not text:
        return ()
    found = scripts_of(text)
    return tuple(sorted(s.title() for s in found)) if len(found) > 1 else ()
