"""Handprint in comb cells and text boxes: one character at a time, by a shipped small network.

Each inked cell is cut to its ink, scaled into a 28x28 square (as MNIST digits are) and
classified with numpy alone by a small convolutional network (text boxes' characters, cut
apart by ocr/glyphs.py, by its twin that also knows lower case) trained by
scripts/train_handprint.py (data, seed and measured accuracy in ocr/models/handprint.json).
The softmax is temperature-scaled on a validation split, so the per-character
probabilities are calibrated: the alternatives a cell hands to the field's checks say how
likely each character is, not only which is best.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from ocr.interfaces import EngineReading

Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float32]

#: The characters the comb model knows, in its output order: digits, capitals, and the few
#: symbols of e-mail addresses, street addresses and phone numbers.
CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ@.-_'/+"
#: The text-box model's: the same, then lower case (e-mail addresses). Two models, so that
#: a comb's cells (capitals and digits) are not read among lower-case look-alikes.
TEXT_CLASSES = CLASSES + "abcdefghijklmnopqrstuvwxyz"
#: Side of the network's input square, and of the box the glyph is scaled into.
SIZE = 28
GLYPH_BOX = 20
#: Alternatives kept per cell, and the smallest probability worth keeping.
TOP = 6
MIN_PROBABILITY = 0.0005
MODEL_DIR = Path(__file__).with_name("models")
MODEL_PATH = MODEL_DIR / "handprint.npz"
TEXT_MODEL_PATH = MODEL_DIR / "handprint_text.npz"


def glyph_input(mask: Mask, reference: float) -> tuple[Floats, Floats]:
    """A cell's ink as the network's input: the 28x28 glyph and its place in the cell.

    The glyph is scaled to fit GLYPH_BOX (aspect kept) and centred, which loses its size: a
    "." and an "O" would look alike. Three numbers keep it: the glyph's height, width and
    vertical centre, each relative to `reference` (the cell's height).

    Args:
        mask: True where the cell holds ink.
        reference: the cell's height in pixels.
    """
    image = np.zeros((SIZE, SIZE), dtype=np.float32)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return image, np.zeros(3, dtype=np.float32)
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    glyph = mask[top:bottom, left:right].astype(np.float32)
    height, width = glyph.shape
    scale = GLYPH_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(cv2.resize(glyph, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
    y, x = (SIZE - size[1]) // 2, (SIZE - size[0]) // 2
    image[y : y + size[1], x : x + size[0]] = resized
    features = np.array(
        [height / reference, width / reference, (top + bottom) / 2 / reference],
        dtype=np.float32,
    )
    return image, features


def _convolve(x: Floats, weight: Floats, bias: Floats) -> Floats:
    """A 3x3 convolution with padding 1 (as torch.nn.Conv2d), then ReLU.

    One matrix product over the nine shifts of every pixel (im2col): the copy is small
    (a page's cells, 28x28 at most) and one product is several times faster than nine.
    """
    count, channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(count * height * width, channels * 9)
    out = columns @ weight.reshape(weight.shape[0], channels * 9).T + bias
    out = out.reshape(count, height, width, -1).transpose(0, 3, 1, 2)
    return np.asarray(np.maximum(out, 0), dtype=np.float32)


def _pool(x: Floats) -> Floats:
    """2x2 max pooling, odd edges dropped (as torch.nn.MaxPool2d(2))."""
    _count, _channels, height, width = x.shape
    h, w = 2 * (height // 2), 2 * (width // 2)
    top = np.maximum(x[:, :, 0:h:2, 0:w:2], x[:, :, 0:h:2, 1:w:2])
    bottom = np.maximum(x[:, :, 1:h:2, 0:w:2], x[:, :, 1:h:2, 1:w:2])
    return np.asarray(np.maximum(top, bottom), dtype=np.float32)


@dataclass(frozen=True)
class HandprintModel:
    """The trained network's weights, and the temperature that calibrates its softmax."""

    weights: dict[str, Floats]
    temperature: float
    classes: str = CLASSES

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> HandprintModel:
        """Read the weights written by scripts/train_handprint.py."""
        with np.load(path) as stored:
            weights = {name: stored[name].astype(np.float32) for name in stored.files}
        temperature = float(weights.pop("temperature")[0])
        classes = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["classes"]
        return cls(weights, temperature, classes)

    def logits(self, images: Floats, features: Floats) -> Floats:
        """The network's raw outputs for a batch: images (N, 28, 28), features (N, 3)."""
        w = self.weights
        x = images[:, None, :, :]
        for layer in ("conv1", "conv2", "conv3"):
            x = _pool(_convolve(x, w[f"{layer}.weight"], w[f"{layer}.bias"]))
        flat = np.concatenate([x.reshape(len(x), -1), features], axis=1)
        hidden = np.maximum(flat @ w["fc1.weight"].T + w["fc1.bias"], 0)
        return np.asarray(hidden @ w["fc2.weight"].T + w["fc2.bias"], dtype=np.float32)

    def probabilities(self, images: Floats, features: Floats, charset: str | None) -> Floats:
        """Calibrated class probabilities, renormalised over the characters `charset` allows."""
        logits = self.logits(images, features) / self.temperature
        allowed = self.allowed(charset)
        logits = np.where(allowed, logits, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)

    def allowed(self, charset: str | None) -> npt.NDArray[np.bool_]:
        """Which classes a field's charset allows.

        Letters keep their case (a capitals box never reads lower case), except in a
        charset of lower-case letters only (an e-mail address's): capitals are read too,
        and folded into lower case (see `folded`).
        """
        if charset is None:
            return np.ones(len(self.classes), dtype=bool)
        wanted = set(charset.upper() + charset) if _lower_only(charset) else set(charset)
        allowed = np.array([c in wanted for c in self.classes], dtype=bool)
        return allowed if allowed.any() else np.ones(len(self.classes), dtype=bool)

    def folded(self, probabilities: Floats, charset: str | None) -> list[list[tuple[str, float]]]:
        """Per glyph, (character, probability) best first, case folded where `charset` says.

        A charset of lower-case letters only (an e-mail address, compared lower case) gets
        each capital's probability added to its lower case: an "o" and an "O" differ by
        their size alone, and either is the same letter there.
        """
        fold = charset is not None and _lower_only(charset)
        rows = []
        for row in probabilities:
            summed: dict[str, float] = {}
            for index in np.argsort(-row)[: 2 * TOP]:
                char = self.classes[index].lower() if fold else self.classes[index]
                summed[char] = summed.get(char, 0.0) + float(row[index])
            rows.append(sorted(summed.items(), key=lambda pair: -pair[1])[:TOP])
        return rows

    def read_cells(self, masks: Sequence[Mask], charset: str | None) -> EngineReading:
        """Classify each cell's ink on its own; alternatives best first, with probabilities.

        The confidence is the probability of the whole string (the cells' product): the
        cells are written and read independently.
        """
        if not masks:
            return EngineReading("", 0.0)
        pairs = [glyph_input(mask, mask.shape[0]) for mask in masks]
        images = np.stack([image for image, _ in pairs])
        features = np.stack([feature for _, feature in pairs])
        probabilities = self.probabilities(images, features, charset)
        alternatives: list[tuple[tuple[str, float], ...]] = []
        for choices in self.folded(probabilities, charset):
            kept = [choices[0]] + [c for c in choices[1:] if c[1] >= MIN_PROBABILITY]
            alternatives.append(tuple((char, round(p, 4)) for char, p in kept))
        text = "".join(choices[0][0] for choices in alternatives)
        confidence = math.prod(choices[0][1] for choices in alternatives)
        return EngineReading(text, round(confidence, 4), tuple(alternatives))


def _lower_only(charset: str) -> bool:
    """Whether a charset has letters in lower case only (its values are compared so)."""
    return any(c.islower() for c in charset) and not any(c.isupper() for c in charset)


@cache
def shipped_model() -> HandprintModel:
    """The comb-cell model shipped in the package, loaded once per process."""
    return HandprintModel.load()


@cache
def shipped_text_model() -> HandprintModel:
    """The text-box model (lower case too) shipped in the package, loaded once per process."""
    return HandprintModel.load(TEXT_MODEL_PATH)
