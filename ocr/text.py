"""OCR of inked text and comb boxes: clean the crop, read the line and, for combs, each cell."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.align import AlignedPage
from ocr.geometry import Zone, ZoneKind
from ocr.glyphs import Glyph, segment
from ocr.ink import SPECKLE_MM2, Mask, ZoneInk
from ocr.interfaces import EngineReading, GrayImage, OcrEngine

#: White border added around a crop: Tesseract reads badly when ink touches the edge.
PADDING = 10


@dataclass(frozen=True)
class TextReadings:
    """The readings of one inked box.

    Attributes:
        line: the whole box read as one line.
        second: an independent second reading: for a comb each inked cell read on its own
            and joined; for a text box the line read again at another scale (None when
            not asked for, or when nothing was read).
    """

    line: EngineReading
    second: EngineReading | None


def clean_crop(ink: ZoneInk, tight: bool = False) -> GrayImage:
    """The customer's ink, black on white, padded; lines, speckle and show-through gone.

    A binary image reads more reliably than the scanned grays: Tesseract's own
    thresholding of a small, mostly white crop often drops a lone character.

    Args:
        ink: the measured zone (or cell).
        tight: cut to the ink's bounding box first (single characters read better so).
    """
    mask = ink.mask
    if tight and mask.any():
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        mask = mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    cleaned = np.where(mask, 0, 255).astype(np.uint8)
    padded = cv2.copyMakeBorder(
        cleaned, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT, value=(255,)
    )
    return np.asarray(padded, dtype=np.uint8)


#: Characters a box never starts or ends with: specks and box remains read as punctuation.
STRAY = ".,:;'`\"-_|!"


def tidy(reading: EngineReading, zone: Zone) -> EngineReading:
    """Spaces where the zone allows them, no stray punctuation at the ends of a text box.

    The per-character alternatives are kept in step with the characters.
    """
    pairs: list[tuple[str, tuple[tuple[str, float], ...]]]
    if len(reading.alternatives) == len(reading.text):
        pairs = list(zip(reading.text, reading.alternatives, strict=True))
    else:
        pairs = [(char, ()) for char in reading.text]
    spaced = _spaced(zone)
    kept: list[tuple[str, tuple[tuple[str, float], ...]]] = []
    for char, choices in pairs:
        if char.isspace():
            if spaced and kept and not kept[-1][0].isspace():
                kept.append((" ", ((" ", 1.0),)))
            continue
        kept.append((char, choices))
    while kept and (kept[-1][0].isspace() or (zone.kind is ZoneKind.TEXT and kept[-1][0] in STRAY)):
        kept.pop()
    while kept and zone.kind is ZoneKind.TEXT and kept[0][0] in STRAY:
        kept.pop(0)
    text = "".join(char for char, _ in kept)
    alternatives = tuple(choices for _, choices in kept) if all(c for _, c in kept) else ()
    return EngineReading(text, reading.confidence if text else 0.0, alternatives)


def _spaced(zone: Zone) -> bool:
    """Whether a box's reading keeps spaces: a text box whose charset allows them."""
    return zone.kind is ZoneKind.TEXT and (zone.charset is None or " " in zone.charset)


def _compact(text: str) -> str:
    return "".join(text.split())


def cell_masks(aligned: AlignedPage, zone: Zone, ink: ZoneInk) -> list[Mask | None]:
    """The ink of each comb cell, None for an empty cell."""
    cells = zone.cells or 1
    width = ink.mask.shape[1]
    scale = aligned.dpi / 72
    cell_width = zone.rect.width * scale / cells
    offset = ink.box[0] - round(zone.rect.x * scale)
    pixel_mm2 = (25.4 / aligned.dpi) ** 2
    masks: list[Mask | None] = []
    for index in range(cells):
        left = max(0, round(index * cell_width) - offset)
        right = min(width, round((index + 1) * cell_width) - offset)
        mask = ink.mask[:, left:right] if right > left else None
        if mask is None or mask.sum() * pixel_mm2 < 2 * SPECKLE_MM2:
            masks.append(None)
        else:
            masks.append(mask)
    return masks


def comb_line(masks: list[Mask | None], gap: int) -> GrayImage:
    """The comb's characters set side by side at normal spacing, black on white, padded.

    Wide comb cells read as a line give Tesseract isolated glyphs it is unsure of; closing
    them up turns them into a word it reads with confidence.
    """
    pieces: list[Mask] = []
    for mask in masks:
        if mask is None:
            continue
        columns = np.flatnonzero(mask.any(axis=0))
        pieces.append(mask[:, columns[0] : columns[-1] + 1])
        pieces.append(np.zeros((mask.shape[0], gap), dtype=bool))
    if not pieces:
        return np.full((2 * PADDING, 2 * PADDING), 255, dtype=np.uint8)
    joined = np.hstack(pieces[:-1])
    return clean_crop(ZoneInk((0, 0, 0, 0), joined.astype(np.uint8), joined, 0.0, 0.0))


#: Height a single character is scaled to, and the white around it: measured on comb
#: cells at 150-300 dpi, Tesseract's single-character mode misses far fewer glyphs so.
CELL_HEIGHT = 28
#: Scale of a text box's second reading: the engine segments the smaller image differently,
#: so a misread handwritten word rarely comes out the same twice.
SECOND_SCALE = 0.6
CELL_PADDING = 16


def cell_image(mask: Mask) -> GrayImage:
    """One cell's character, cut to its ink, scaled to CELL_HEIGHT, black on white, padded."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    glyph = np.where(mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1], 0, 255)
    scale = CELL_HEIGHT / glyph.shape[0]
    width = max(1, round(glyph.shape[1] * scale))
    resized = cv2.resize(glyph.astype(np.uint8), (width, CELL_HEIGHT), interpolation=cv2.INTER_AREA)
    padded = cv2.copyMakeBorder(
        resized, CELL_PADDING, CELL_PADDING, CELL_PADDING, CELL_PADDING,
        cv2.BORDER_CONSTANT, value=(255,),
    )  # fmt: skip
    return np.asarray(padded, dtype=np.uint8)


def _read_cells(masks: list[Mask | None], zone: Zone, engine: OcrEngine) -> EngineReading | None:
    texts: list[str] = []
    confidences: list[float] = []
    alternatives: list[tuple[tuple[str, float], ...]] = []
    for mask in masks:
        if mask is None:
            continue
        reading = engine.read_character(cell_image(mask), zone.charset)
        text = _compact(reading.text)
        if len(text) != 1:
            # One cell holds one character: anything else is a failed reading of that cell.
            return EngineReading("", 0.0)
        texts.append(text)
        confidences.append(reading.confidence)
        alternatives.append(reading.alternatives[0] if reading.alternatives else ((text, 1.0),))
    if not texts:
        return None
    return EngineReading("".join(texts), min(confidences), tuple(alternatives))


CellReader = Callable[[Sequence[Mask], "str | None"], EngineReading]
"""Reads comb cells one by one (ocr/handprint.py's model): the inked cells, the charset.

Also a text box's characters once cut apart (ocr/glyphs.py): each has the box's height."""

#: Weight of the handprint model in a text box's per-character mixture with Tesseract's
#: alternatives: the model's probabilities are calibrated, Tesseract's scores are not.
#: 0.3 before the text-box model learnt from glyphs cut from written lines (issue 16,
#: point 3: 69% of the held-out fonts' characters against 66%).
MODEL_WEIGHT = 0.5
Choices = tuple[tuple[str, float], ...]


def _shares(choices: Choices) -> dict[str, float]:
    """Tesseract's scores of one character scaled to add up to at most 1."""
    total = sum(p for _, p in choices)
    scale = 1 / total if total > 1 else 1.0
    return {char: p * scale for char, p in choices if p > 0}


def _mixed(model: Choices, engine: Choices, weight: float = MODEL_WEIGHT) -> Choices:
    """One character's alternatives from the model and the engine, mixed, best first."""
    mixed = {char: weight * p for char, p in model}
    for char, p in _shares(engine).items():
        mixed[char] = mixed.get(char, 0.0) + (1 - weight) * p
    ranked = sorted(mixed.items(), key=lambda pair: -pair[1])[:6]
    return tuple((char, round(p, 4)) for char, p in ranked)


#: When the segmentation and Tesseract count different characters, the model alone is
#: kept if Tesseract is this unsure (geometric mean of its characters' scores) and the
#: model this sure (its characters' geometric mean probability): a hand Tesseract makes
#: nothing of, not a cut gone wrong.
ENGINE_UNSURE = 0.6
MODEL_SURE = 0.8
#: A mark narrower than this share of the writing's usual height is thin (a dot, a "1").
THIN = 0.3


def _mean(scores: Sequence[float]) -> float:
    """Geometric mean of per-character scores (0 for none)."""
    if not scores:
        return 0.0
    return math.exp(sum(math.log(max(s, 1e-6)) for s in scores) / len(scores))


def _thin(glyph: Glyph, glyphs: Sequence[Glyph]) -> bool:
    """Whether a glyph is a thin mark beside the others (a dot, a "1", an "l")."""
    usual = sorted(g.height for g in glyphs)[len(glyphs) // 2]
    return glyph.width < THIN * usual


def _glyphs_alone(read: EngineReading, glyphs: Sequence[Glyph], zone: Zone) -> EngineReading:
    """The model's reading with the segmentation's own spaces."""
    spaced = _spaced(zone)
    text: list[str] = []
    alternatives: list[Choices] = []
    for glyph, choices in zip(glyphs, read.alternatives, strict=True):
        if glyph.space_before and spaced and text:
            text.append(" ")
            alternatives.append(((" ", 1.0),))
        text.append(choices[0][0])
        alternatives.append(choices)
    return tidy(EngineReading("".join(text), read.confidence, tuple(alternatives)), zone)


def _cost(model: Choices, engine: Choices) -> float:
    """How far apart two readings of one character are: 0 same, 0.5 in each other's."""
    if model[0][0] == engine[0][0]:
        return 0.0
    if engine[0][0] in dict(model) or model[0][0] in dict(engine):
        return 0.5
    return 1.0


def _aligned(model: Sequence[Choices], engine: Sequence[Choices]) -> tuple[float, list[int | None]]:
    """The model's glyph aligned with each of the engine's characters (edit distance).

    Returns the alignment's cost and, per engine character, the index of the glyph read
    in its place, None where the engine read a character the cut did not find.
    """
    rows, columns = len(model) + 1, len(engine) + 1
    table = [[0.0] * columns for _ in range(rows)]
    for i in range(rows):
        table[i][0] = float(i)
    for j in range(columns):
        table[0][j] = float(j)
    for i in range(1, rows):
        for j in range(1, columns):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + _cost(model[i - 1], engine[j - 1]),
            )
    pairs: list[int | None] = [None] * len(engine)
    i, j = len(model), len(engine)
    while i and j:
        if table[i][j] == table[i - 1][j - 1] + _cost(model[i - 1], engine[j - 1]):
            pairs[j - 1] = i - 1
            i, j = i - 1, j - 1
        elif table[i][j] == table[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return table[-1][-1], pairs


def read_glyphs(
    ink: ZoneInk, zone: Zone, line: EngineReading, cells: CellReader
) -> EngineReading | None:
    """A text box read glyph by glyph with the handprint model, Tesseract's line mixed in.

    The box's ink is cut into characters (ocr/glyphs.py), each classified by the model
    like a comb cell, and the model's reading is aligned with Tesseract's reading of the
    whole line (`line`, tidied): where a glyph stands for one of Tesseract's characters,
    their alternatives are mixed (agreement makes a character surer, disagreement leaves
    both candidates for the field's checks); Tesseract's characters the cut did not find
    (letters joined in one piece) keep Tesseract's alternatives, and Tesseract places the
    spaces. The cut is made twice, as the ink falls and aiming at Tesseract's count, and
    the one agreeing better with Tesseract is kept. When Tesseract is unsure and the
    model sure, the model's reading stands alone. None when nothing could be cut.
    """
    if len(line.alternatives) != len(line.text):
        return None
    engine = list(zip(line.text, line.alternatives, strict=True))
    letters = [choices for char, choices in engine if not char.isspace()]
    glyphs = segment(ink.mask)
    if not glyphs:
        return None
    read = cells([glyph.mask for glyph in glyphs], zone.charset)
    unsure = _mean([choices[0][1] for choices in letters]) < ENGINE_UNSURE
    if unsure and _mean([choices[0][1] for choices in read.alternatives]) >= MODEL_SURE:
        return _glyphs_alone(read, glyphs, zone)
    if not letters:
        return None
    cost, pairs = _aligned(read.alternatives, letters)
    # A cut that found Tesseract's count as the ink falls is trusted at full weight; one
    # forced or aligned over gaps may have cut letters wrong: the model weighs half.
    weight = MODEL_WEIGHT if len(glyphs) == len(letters) else MODEL_WEIGHT / 2
    if len(glyphs) != len(letters):
        aimed = segment(ink.mask, len(letters))
        if aimed and len(aimed) == len(letters):
            again = cells([glyph.mask for glyph in aimed], zone.charset)
            other_cost, other_pairs = _aligned(again.alternatives, letters)
            if other_cost < cost:
                glyphs, read, pairs = aimed, again, other_pairs
    spaced = _spaced(zone)
    paired = {glyph for glyph in pairs if glyph is not None}
    # A thin mark Tesseract read nothing in (it drops dots and lone strokes: the "11" of
    # "114"), that the model is sure of.
    extra = {
        i for i, choices in enumerate(read.alternatives)
        if i not in paired and choices[0][1] >= MODEL_SURE and _thin(glyphs[i], glyphs)
    }  # fmt: skip
    text: list[str] = []
    alternatives: list[Choices] = []
    confidence = 1.0
    index = 0
    placed = -1

    def add(choices: Choices) -> None:
        nonlocal confidence
        text.append(choices[0][0])
        alternatives.append(choices)
        confidence *= choices[0][1]

    for char, choices in engine:
        if char.isspace():
            if spaced:
                text.append(" ")
                alternatives.append(((" ", 1.0),))
            continue
        glyph = pairs[index]
        if glyph is not None:
            for missed in sorted(i for i in extra if placed < i < glyph):
                add(read.alternatives[missed])
            placed = glyph
            add(_mixed(read.alternatives[glyph], choices, weight))
        else:
            add(tuple((c, round(p, 4)) for c, p in _shares(choices).items()))
        index += 1
    for missed in sorted(i for i in extra if i > placed):
        add(read.alternatives[missed])
    agreed = "".join(text) == line.text and all(
        glyph is not None and read.alternatives[glyph][0][0] == choices[0][0]
        for glyph, choices in zip(pairs, letters, strict=True)
    )
    if agreed:
        # Both readers read every character alike: Tesseract's own confidence stands, so
        # that what was applied before (a city its postcode confirms) still is, and no
        # more than that.
        confidence = line.confidence
    return tidy(EngineReading("".join(text), round(confidence, 4), tuple(alternatives)), zone)


def read_text(
    aligned: AlignedPage,
    zone: Zone,
    ink: ZoneInk,
    engine: OcrEngine,
    second_reading: bool | Callable[[EngineReading], bool] = True,
    cells: CellReader | None = None,
) -> TextReadings:
    """Read an inked box with the field's charset.

    Args:
        aligned: the aligned page.
        zone: a TEXT or COMB zone.
        ink: its measured ink.
        engine: the OCR engine.
        second_reading: also read the box a second, independent way (comb: cell by cell;
            text: at another scale), always or when this predicate of the first reading
            says it is worth it; confidence compares the two.
        cells: the handprint classifier: when given, a comb is read cell by cell with it
            first, the engine's reading of the closed-up line being the second opinion,
            and a text box glyph by glyph mixed with the engine's line (read_glyphs).
    """
    comb = zone.kind is ZoneKind.COMB and (zone.cells or 0) > 1
    masks: list[Mask | None] = []
    if comb:
        masks = cell_masks(aligned, zone, ink)
        gap = max(2, round(0.6 * aligned.dpi / 25.4))
        image = comb_line(masks, gap)
    else:
        image = clean_crop(ink)
    if comb and cells is not None:
        inked = [mask for mask in masks if mask is not None]
        first = cells(inked, zone.charset) if inked else EngineReading("", 0.0)
        wanted = second_reading(first) if callable(second_reading) else second_reading
        if not wanted:
            return TextReadings(first, None)
        return TextReadings(first, tidy(engine.read_line(image, zone.charset), zone))
    line = engine.read_line(image, zone.charset)
    line = tidy(line, zone)
    if not comb and cells is not None:
        # Tesseract's line is inside the glyph reading (its second opinion, mixed in per
        # character): a second reading of the same engine would only repeat it.
        glyphs = read_glyphs(ink, zone, line, cells)
        if glyphs is not None:
            return TextReadings(glyphs, None)
    wanted = second_reading(line) if callable(second_reading) else second_reading
    if not wanted:
        return TextReadings(line, None)
    if comb:
        return TextReadings(line, _read_cells(masks, zone, engine))
    smaller = cv2.resize(
        image, None, fx=SECOND_SCALE, fy=SECOND_SCALE, interpolation=cv2.INTER_AREA
    )
    again = engine.read_line(np.asarray(smaller, dtype=np.uint8), zone.charset)
    again = tidy(again, zone)
    return TextReadings(line, again)
