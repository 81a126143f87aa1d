"""Training glyphs for the text-box model, cut from written lines as the scan reader cuts them.

A text box's characters reach the model after ocr/glyphs.py has cut the box's ink apart:
each keeps its place in the box (its height, width and vertical centre against the box's
interior), its neighbours' strokes cut off, its dots and accents merged in. So the model
learns from the same: a random string is written in a font into a box interior at a scan's
resolution (glyph by glyph, as a hand writes, with a pen's width, a slant and an uneven
baseline), scanned (blur, noise, contrast, JPEG), warped to the reader's 300 dpi, cut to
its ink with Otsu's threshold as ocr/ink.py does, speckle dropped, and cut by
`ocr.glyphs.segment`; a line whose cut does not give one glyph per character, as the ink
falls or aiming at the count (as `ocr.text.read_glyphs` does), is not used.

The strings are random (no word, name or address list): lower case with the symbols of
e-mail addresses, capitals with those of names and street addresses, or any class.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.glyphs import segment
from ocr.handprint import glyph_input
from ocr.ink import SPECKLE_MM2

#: The resolution ocr/align.py warps every page's zones to.
READER_DPI = 300
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
DIGITS = "0123456789"


def random_text(classes: str, rng: random.Random) -> str:
    """A random string of the kind a box holds: an address, a name, or any characters."""
    kind = rng.random()
    length = rng.randint(4, 14)
    if kind < 0.45 and "a" in classes:
        pools = ((LOWER, 0.82), (DIGITS, 0.06), (".-_", 0.09), ("@", 0.03))
    elif kind < 0.85:
        pools = ((UPPER, 0.84), (DIGITS, 0.08), ("'-/+", 0.04), (" ", 0.04))
    else:
        pools = ((classes, 1.0),)
    chars = []
    for _ in range(length):
        pool = rng.choices([p for p, _ in pools], weights=[w for _, w in pools])[0]
        chars.append(rng.choice(pool))
    text = "".join(chars).strip()
    return " ".join(text.split())


def _written(
    path: Path, text: str, rng: random.Random
) -> tuple[np.ndarray, float, list[tuple[float, float]]]:
    """The string written into a box interior at a scan's resolution.

    Returns the gray image, the dpi and, per character but spaces, the columns its advance
    spans at the reader's 300 dpi (to tell a cut that went wrong).
    """
    dpi = rng.uniform(130, 330)
    per_mm = dpi / 25.4
    scale = 3  # drawn large and shrunk: smooth edges like a scan's
    interior = rng.uniform(5.6, 7.0) * per_mm  # an 8 mm box inside ocr/ink.py's inset
    em = rng.uniform(0.6, 1.0) * interior * scale
    font = ImageFont.truetype(str(path), max(8, round(em)))
    pen = round(rng.choice([0.0, 0.1, 0.2, 0.3]) * per_mm * scale / 2)
    ink = rng.randint(10, 70)
    width = round(sum(font.getlength(c) for c in text) * 1.25 + 2 * em)
    height = round(interior * scale)
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    x = rng.uniform(0.2, 0.6) * em
    middle = height / 2 + rng.uniform(-0.08, 0.08) * height
    slope = rng.uniform(-0.02, 0.02)
    spans = []
    to_reader = READER_DPI / dpi / scale
    for char in text:
        y = middle + slope * x + rng.uniform(-0.03, 0.03) * height
        draw.text((x, y), char, font=font, fill=ink, anchor="lm", stroke_width=pen, stroke_fill=ink)
        advance = font.getlength(char)
        if not char.isspace():
            spans.append((x * to_reader, (x + advance) * to_reader))
        x += advance + rng.uniform(-0.03, 0.12) * em
    canvas = canvas.crop((0, 0, min(width, round(x + 0.3 * em)), height))
    small = canvas.resize(
        (max(1, round(canvas.width / scale)), max(1, round(height / scale))),
        Image.Resampling.BOX,
    )
    return np.asarray(small, dtype=np.float32), dpi, spans


def _slanted(gray: np.ndarray, rng: random.Random) -> np.ndarray:
    """A hand's slant and a page's tilt."""
    height, width = gray.shape
    angle = rng.uniform(-2.5, 2.5)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[0, 1] += rng.uniform(-0.25, 0.25)
    matrix[0, 2] -= matrix[0, 1] * height / 2
    return np.asarray(
        cv2.warpAffine(gray, matrix, (width, height), borderValue=(255,)), dtype=np.float32
    )


def _scanned(
    gray: np.ndarray, dpi: float, rng: random.Random, np_rng: np.random.Generator
) -> np.ndarray:
    """Scan defects at the scan's resolution, then the reader's 300 dpi warp."""
    contrast = rng.uniform(0.7, 1.0)
    gray = 255 - (255 - gray) * contrast
    blur = rng.choice([0.0, 0.0, 0.6, 1.0])
    if blur:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    gray = gray + np_rng.normal(0, rng.uniform(0, 10), gray.shape).astype(np.float32)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    if rng.random() < 0.8:
        quality = rng.randint(50, 90)
        ok, encoded = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            gray = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    factor = READER_DPI / dpi
    return np.asarray(
        cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR),
        dtype=np.uint8,
    )


def _ink(gray: np.ndarray) -> np.ndarray:
    """The ink mask as ocr/ink.py leaves a text box: Otsu's threshold, speckle gone."""
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    mask = binary > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    pixel_mm2 = (25.4 / READER_DPI) ** 2
    tiny = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] * pixel_mm2 < SPECKLE_MM2]
    if tiny:
        mask[np.isin(labels, tiny)] = False
    return mask


def line_glyphs(
    path: Path, text: str, classes: str, rng: random.Random, np_rng: np.random.Generator
) -> list[tuple[tuple[np.ndarray, np.ndarray], int]]:
    """The glyphs of `text` written with the font at `path`, as network inputs and labels.

    Empty when the cut does not find one glyph per character, each where it was written.
    """
    gray, dpi, spans = _written(path, text, rng)
    mask = _ink(_scanned(_slanted(gray, rng), dpi, rng, np_rng))
    chars = text.replace(" ", "")
    if not mask.any() or not chars:
        return []
    glyphs = segment(mask)
    if len(glyphs) != len(chars):
        glyphs = segment(mask, len(chars))
    if len(glyphs) != len(chars):
        return []
    # Slant and tilt move a glyph a little from where its pen started: a third of its
    # advance either side, more is a cut gone wrong (a letter split, two others merged).
    for glyph, (start, end) in zip(glyphs, spans, strict=True):
        slack = max(2.0, (end - start) / 3)
        if not start - slack <= (glyph.left + glyph.right) / 2 <= end + slack:
            return []
    return [
        (glyph_input(glyph.mask, mask.shape[0]), classes.index(char))
        for glyph, char in zip(glyphs, chars, strict=True)
    ]


def render_lines(
    fonts: dict[str, str], lines: int, seed: int, classes: str, root: Path
) -> tuple[list, list, float]:  # type: ignore[type-arg]
    """`lines` random strings per font cut into glyphs: inputs, labels, share of lines used."""
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)  # noqa: S311 (data, not secrets)
    inputs, labels = [], []
    used = 0
    for path in fonts.values():
        for _ in range(lines):
            made = line_glyphs(root / path, random_text(classes, rng), classes, rng, np_rng)
            used += bool(made)
            for sample, label in made:
                inputs.append(sample)
                labels.append(label)
    return inputs, labels, used / max(1, lines * len(fonts))
