"""Hypothesis strategies that damage real files: flipped, cut, inserted and repeated bytes."""

from __future__ import annotations

import re

from hypothesis import strategies as st

_NUMBER = re.compile(rb"\d+")


@st.composite
def damaged(draw: st.DrawFn, seed: bytes, *, max_edits: int = 6) -> bytes:
    """`seed` with a few random edits, each anywhere in the file."""
    content = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        at = draw(st.integers(0, max(len(content) - 1, 0)))
        edit = draw(st.sampled_from(["flip", "cut", "insert", "truncate", "repeat", "number"]))
        if edit == "flip" and content:
            content[at] ^= draw(st.integers(1, 255))
        elif edit == "cut":
            del content[at : at + draw(st.integers(1, 512))]
        elif edit == "insert":
            content[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif edit == "truncate":
            del content[at:]
        elif edit == "repeat":
            chunk = bytes(content[at : at + draw(st.integers(1, 256))])
            content[at:at] = chunk * draw(st.integers(2, 20))
        elif edit == "number":
            # Object numbers, lengths, offsets and counts are where parsers trust the file.
            found = list(_NUMBER.finditer(bytes(content)))
            if found:
                match = found[draw(st.integers(0, len(found) - 1))]
                value = draw(st.sampled_from([b"0", b"1", b"-1", b"99999999999", b"2147483648"]))
                content[match.start() : match.end()] = value
    return bytes(content)
