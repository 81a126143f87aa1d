"""A text box's handwriting cut into characters: components merged, wide ones split, spaces.

Handwritten capitals and lower case are mostly written apart, so the connected components
of a box's ink are nearly its characters. Not quite: an "i" or "j" has its dot, an accent
sits over its letter and a light pen breaks a stroke (pieces above one another, merged);
a heavy pen or a narrow hand joins two letters (a component much wider than the box's
others, split where the ink is thinnest); and words are told apart by gaps much wider
than the box's usual gap between letters (spaces).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]

#: Two pieces are one character when this share of the narrower one's width lies over the
#: other (a dot over its stem, an accent over its letter, the halves of a broken stroke).
OVERLAP = 0.5
#: A character wider than this many times the box's typical one (and than its height) is
#: two or more letters joined, split at the thinnest columns.
JOINED = 1.6
#: Where a cut may fall around its even share of the joined width (share of one letter).
CUT_WINDOW = 0.35
#: Narrowest letter a split may make, and widest character a merge may make (shares of
#: the writing's height), when aiming at another reader's count.
MIN_LETTER = 0.3
MERGED = 1.2
#: No single character is wider than this share of the box's height.
WIDEST = 0.7
#: A gap is a space between words when wider than this share of the writing's height...
SPACE_HEIGHT = 0.3
#: ... and than this many times the box's median gap between letters.
SPACE_GAPS = 2.0


@dataclass(frozen=True)
class Glyph:
    """One character's ink in a box.

    Attributes:
        left: first column of the character in the box's mask.
        right: one past its last column.
        mask: the box's full height over those columns, with only this character's ink.
        space_before: the character starts a new word.
    """

    left: int
    right: int
    mask: Mask
    space_before: bool = False

    @property
    def height(self) -> int:
        """Rows from the character's highest ink to its lowest."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        return int(rows[-1] - rows[0] + 1) if len(rows) else 0

    @property
    def width(self) -> int:
        """Its columns."""
        return self.right - self.left


@dataclass(frozen=True)
class _Piece:
    left: int
    right: int
    top: int
    bottom: int
    labels: frozenset[int]

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def joined(self, other: _Piece) -> _Piece:
        return _Piece(
            min(self.left, other.left), max(self.right, other.right),
            min(self.top, other.top), max(self.bottom, other.bottom),
            self.labels | other.labels,
        )  # fmt: skip


def _components(mask: Mask) -> tuple[npt.NDArray[np.int32], list[_Piece]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    pieces = [
        _Piece(
            int(stats[i, cv2.CC_STAT_LEFT]),
            int(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]),
            int(stats[i, cv2.CC_STAT_TOP]),
            int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]),
            frozenset({i}),
        )
        for i in range(1, count)
    ]
    return np.asarray(labels, dtype=np.int32), sorted(pieces, key=lambda p: (p.left, p.right))


def _overlapping(pieces: list[_Piece]) -> list[_Piece]:
    """Pieces lying over one another merged into one character, left to right."""
    merged: list[_Piece] = []
    for piece in pieces:
        if merged:
            last = merged[-1]
            shared = min(last.right, piece.right) - max(last.left, piece.left)
            if shared >= OVERLAP * min(last.width, piece.width):
                merged[-1] = last.joined(piece)
                continue
        merged.append(piece)
    return merged


def _typical_width(pieces: list[_Piece], height: float) -> float:
    """A letter's usual width in this box: the median of the pieces that look like one."""
    widths = [p.width for p in pieces if p.height >= 0.5 * height and p.width <= 1.2 * height]
    if len(widths) < 2:
        return 0.7 * height
    return float(min(max(statistics.median(widths), 0.45 * height), 1.1 * height))


def _split(left: int, right: int, ink: Mask, count: int) -> list[tuple[int, int]]:
    """Column ranges of `count` letters joined in one piece, cut at the thinnest columns."""
    width = right - left
    if count < 2 or width < 2 * count:
        return [(left, right)]
    profile = ink[:, left:right].sum(axis=0)
    step = width / count
    window = max(1, round(CUT_WINDOW * step))
    cuts = [left]
    for index in range(1, count):
        centre = round(index * step)
        low, high = max(1, centre - window), min(width - 1, centre + window)
        if high <= low:
            continue
        # The thinnest column, the nearest to the even share among equals.
        best = min(range(low, high), key=lambda c: (int(profile[c]), abs(c - centre)))
        if best + left > cuts[-1]:
            cuts.append(best + left)
    cuts.append(right)
    return list(itertools.pairwise(cuts))


def _letters(pieces: list[_Piece], height: float, box: int, count: int | None) -> list[int]:
    """How many letters each piece holds: one, more for a piece much wider than usual.

    With `count` (another reader's number of characters), the pieces' letters add up to
    it when splitting the widest pieces gets there.
    """
    typical = _typical_width(pieces, height)
    # An "m", a "w" or an "@" is wide beside lower case: only a piece also wider than
    # WIDEST of the box's height is surely letters joined.
    wide = max(JOINED * typical, 1.1 * height, WIDEST * box)
    letters = [max(1, round(p.width / typical)) if p.width > wide else 1 for p in pieces]
    if count is None:
        return letters
    while sum(letters) > count and max(letters) > 1:
        # The piece whose letters are the narrowest gives one back.
        index = min(
            (i for i, n in enumerate(letters) if n > 1), key=lambda i: pieces[i].width / letters[i]
        )
        letters[index] -= 1
    while sum(letters) < count:
        # The piece whose letters would stay the widest takes one more.
        index = max(range(len(pieces)), key=lambda i: pieces[i].width / (letters[i] + 1))
        if pieces[index].width / (letters[index] + 1) < MIN_LETTER * height:
            break
        letters[index] += 1
    return letters


def _spaces(ranges: list[tuple[int, int]], height: float) -> list[bool]:
    """Whether each character starts a new word, from the gaps' own distribution."""
    gaps = [max(0, ranges[i][0] - ranges[i - 1][1]) for i in range(1, len(ranges))]
    if not gaps:
        return [False] * len(ranges)
    usual = statistics.median(gaps)
    wide = max(SPACE_HEIGHT * height, SPACE_GAPS * usual)
    return [False, *(gap > wide for gap in gaps)]


def _merged_to(pieces: list[_Piece], count: int, height: float) -> list[_Piece]:
    """Neighbouring pieces merged until `count` are left: the closest narrow pairs first."""
    pieces = list(pieces)
    while len(pieces) > count:
        pairs = [
            (pieces[i + 1].left - pieces[i].right, i)
            for i in range(len(pieces) - 1)
            if pieces[i].joined(pieces[i + 1]).width <= MERGED * height
        ]
        if not pairs:
            break
        _, index = min(pairs)
        pieces[index : index + 2] = [pieces[index].joined(pieces[index + 1])]
    return pieces


def segment(mask: Mask, count: int | None = None) -> list[Glyph]:
    """Cut a text box's ink (ocr/ink.py's mask) into characters, left to right.

    Args:
        mask: True where the box holds the customer's ink.
        count: how many characters another reader found (Tesseract's line), if known:
            the cut then aims at that many, splitting joined letters or merging broken
            ones as far as the ink allows (the caller compares the count it got).
    """
    labels, pieces = _components(mask)
    if not pieces:
        return []
    pieces = _overlapping(pieces)
    # The writing's height: the median of the characters' (dots and commas weigh little).
    height = float(statistics.median(p.height for p in pieces))
    if count is not None and len(pieces) > count:
        pieces = _merged_to(pieces, count, height)
    letters = _letters(pieces, height, mask.shape[0], count)
    # Each component's piece number (1 on; 0 the paper), to cut out a piece's own ink.
    owner = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    for number, piece in enumerate(pieces, start=1):
        owner[list(piece.labels)] = number
    glyphs: list[tuple[int, int, Mask]] = []
    for number, (piece, count_in) in enumerate(zip(pieces, letters, strict=True), start=1):
        own = owner[labels[:, piece.left : piece.right]] == number
        for left, right in _split(0, piece.width, own, count_in):
            part = own[:, left:right]
            if part.any():
                glyphs.append((piece.left + left, piece.left + right, part))
    starts = _spaces([(left, right) for left, right, _ in glyphs], height)
    return [
        Glyph(left, right, part, space)
        for (left, right, part), space in zip(glyphs, starts, strict=True)
    ]
