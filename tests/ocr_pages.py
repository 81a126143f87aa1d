"""Scanned form pages made from a FormGeometry: printed marks, boxes, code and filled answers.

Shared by the OCR tests and benchmarks/scan_accuracy.py. The page is drawn straight at the
scanner's resolution with PIL (what a scanner would see of the printed PDF), then degraded
the ways real scans are: turned, tilted, noisy, blurred, JPEG-compressed, low contrast,
slightly in perspective, with the back page showing through.
"""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import segno
from PIL import Image, ImageDraw, ImageFont

from forms_service.definitions.fieldtypes import FIELD_TYPES, PairCheck, Rules
from ocr.geometry import FormGeometry, PageGeometry, Rect, Zone, ZoneKind
from ocr.handprint import MODEL_PATH
from ocr.interfaces import ValueCheck

MM = 72 / 25.4
A4 = (595.28, 841.89)
GrayImage = npt.NDArray[np.uint8]

TYPED_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HANDWRITING_FONTS = {
    "breip": "/usr/share/fonts/truetype/breip/Breip.ttf",
    "femkeklaver": "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "humor-sans": "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "comic-neue": "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
}


def held_out_fonts() -> dict[str, str]:
    """The handwriting fonts kept out of the handprint model's training (its JSON record)."""
    record = json.loads(MODEL_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    return {name: f"/usr/share/fonts/{path}" for name, path in record["held_out_fonts"].items()}


#: Fonts the comb-cell model never saw (Debian fonts-dkg-handwriting, fonts-sjfonts,
#: fonts-klee, fonts-yusei-magic): the benchmark and tests measure generalisation on them.
HELD_OUT_FONTS = held_out_fonts()
DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NAME_CHARSET = UPPER + "-' "
EMAIL_CHARSET = UPPER.lower() + DIGITS + "@.-_"

MARK_SIZE = 8 * MM
MARK_CENTRE = 11 * MM  # from the page edges, like forms_service/issuing/layout.py
QR_SIZE = 24 * MM


def _box(x_mm: float, top_mm: float, width_mm: float, height_mm: float) -> Rect:
    """A rectangle given by its top-left corner in millimetres from the page's top-left."""
    return Rect(x_mm * MM, A4[1] - (top_mm + height_mm) * MM, width_mm * MM, height_mm * MM)


def sample_geometry(version: int = 3) -> FormGeometry:
    """A one-page form with every kind of zone, laid out like the service's paper forms."""
    width, height = A4
    marks = (
        (MARK_CENTRE, height - MARK_CENTRE),
        (width - MARK_CENTRE, height - MARK_CENTRE),
        (width - MARK_CENTRE, MARK_CENTRE),
        (MARK_CENTRE, MARK_CENTRE),
    )
    qr = Rect(
        width - MARK_CENTRE - MARK_SIZE / 2 - 5 * MM - QR_SIZE,
        height - 7 * MM - QR_SIZE,
        QR_SIZE,
        QR_SIZE,
    )
    zones = (
        Zone("last_name", ZoneKind.TEXT, _box(20, 62, 120, 8), charset=NAME_CHARSET),
        Zone("city", ZoneKind.TEXT, _box(20, 84, 120, 8), charset=NAME_CHARSET),
        Zone("postcode", ZoneKind.COMB, _box(150, 84, 30, 8), cells=5, charset=DIGITS),
        Zone("phone", ZoneKind.COMB, _box(20, 106, 60, 8), cells=10, charset=DIGITS),
        Zone("birth_date", ZoneKind.COMB, _box(100, 106, 48, 8), cells=8, charset=DIGITS),
        Zone("iban", ZoneKind.COMB, _box(20, 128, 162, 8), cells=27, charset=UPPER + DIGITS),
        Zone("email", ZoneKind.TEXT, _box(20, 150, 160, 8), charset=EMAIL_CHARSET),
        Zone("consent", ZoneKind.CHECKBOX, _box(20, 172, 6, 6)),
        Zone("channel", ZoneKind.CHECKBOX, _box(20, 190, 6, 6), choice="email"),
        Zone("channel", ZoneKind.CHECKBOX, _box(70, 190, 6, 6), choice="sms"),
        Zone("channel", ZoneKind.CHECKBOX, _box(120, 190, 6, 6), choice="post"),
        Zone("signature", ZoneKind.SIGNATURE, _box(95, 215, 85, 28)),
    )
    page = PageGeometry(1, width, height, marks, MARK_SIZE, qr, zones)
    return FormGeometry("contact_update", version, (page,))


#: forms_service type of each sample field, as a PageContext wants it.
SAMPLE_FIELD_TYPES = {
    "last_name": "text",
    "city": "text",
    "postcode": "postcode",
    "phone": "phone",
    "birth_date": "date",
    "iban": "iban",
    "email": "email",
}


def sample_checks(types: Mapping[str, str] = SAMPLE_FIELD_TYPES) -> dict[str, ValueCheck]:
    """The registry's paper checks of the fields `types` names (field -> type name)."""
    checks: dict[str, ValueCheck] = {}
    for name, type_name in types.items():
        check = FIELD_TYPES[type_name].paper_check(Rules(), ())
        if check is not None:
            checks[name] = check
    return checks


#: The sample form's postcode, confirmed by its city (a definition's `confirms: city`).
SAMPLE_PAIRS = (PairCheck(FIELD_TYPES["postcode"], "postcode", "city"),)

#: Labels and current values printed near the boxes (clutter a reader must ignore).
_LABELS = {
    "last_name": "Nom - Actuellement : DUPONT",
    "city": "Ville - Actuellement : LYON",
    "phone": "Téléphone - Actuellement : 04 78 00 00 00",
    "iban": "IBAN - Actuellement : FR76 3000 4000 0312 3456 7890 143",
    "email": "E-mail - Actuellement : jean.dupont@example.fr",
    "consent": "J'accepte d'être contacté",
}


@dataclass(frozen=True)
class Answers:
    """What a customer wrote on the page.

    Attributes:
        texts: field -> text written in its text or comb box.
        ticks: (field, choice or None) of the squares ticked.
        signed: whether the signature box is signed.
        font: path of the font the answers are written with.
        size_pt: its size.
        jitter: random offset of each character in millimetres (handwriting is not aligned).
        pen_mm: extra stroke width in millimetres (a ballpoint pen's line, around the font's
            own strokes, which are hairlines in some handwriting fonts).
    """

    texts: Mapping[str, str] = field(default_factory=dict)
    ticks: frozenset[tuple[str, str | None]] = frozenset()
    signed: bool = False
    font: str = TYPED_FONT
    size_pt: float = 11.0
    jitter: float = 0.0
    pen_mm: float = 0.0


class _Canvas:
    def __init__(self, page: PageGeometry, dpi: float, image: GrayImage | None = None) -> None:
        self.page = page
        self.scale = dpi / 72
        size = (round(page.width * self.scale), round(page.height * self.scale))
        self.image = Image.new("L", size, 255) if image is None else Image.fromarray(image)
        self.draw = ImageDraw.Draw(self.image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale, (self.page.height - y) * self.scale

    def rect(
        self, rect: Rect, fill: int | None = None, outline: int | None = None, width: float = 0.0
    ) -> None:
        left, bottom = self.xy(rect.x, rect.y)
        right, top = self.xy(rect.x + rect.width, rect.y + rect.height)
        line = max(1, round(width * self.scale)) if outline is not None else 0
        self.draw.rectangle((left, top, right, bottom), fill=fill, outline=outline, width=line)

    def font(self, path: str, size_pt: float) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(path, max(6, round(size_pt * self.scale)))


def _draw_code(canvas: _Canvas, rect: Rect, payload: str) -> None:
    matrix = segno.make(payload, error="m", micro=False).matrix
    count = len(matrix)
    module = rect.width / count
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                y = rect.y + rect.height - (row + 1) * module
                canvas.rect(Rect(rect.x + column * module, y, module, module), fill=0)


def _draw_blank(canvas: _Canvas, page: PageGeometry, payload: str) -> None:
    for x, y in page.marks:
        half = page.mark_size / 2
        canvas.rect(Rect(x - half, y - half, page.mark_size, page.mark_size), fill=0)
    _draw_code(canvas, page.qr, payload)
    label_font = canvas.font(TYPED_FONT, 8)
    canvas.draw.text(
        canvas.xy(20 * MM, page.height - 30 * MM),
        "Réf. 7Q4-K2M-98X  Écrivez en MAJUSCULES, un caractère par case.",
        font=label_font,
        fill=60,
    )
    for zone in page.zones:
        canvas.rect(zone.rect, outline=0, width=0.8)
        if zone.kind is ZoneKind.COMB and zone.cells:
            cell = zone.rect.width / zone.cells
            for index in range(1, zone.cells):
                x = zone.rect.x + index * cell
                top = canvas.xy(x, zone.rect.y + zone.rect.height)
                bottom = canvas.xy(x, zone.rect.y)
                canvas.draw.line((top, bottom), fill=0, width=max(1, round(0.6 * canvas.scale)))
        label = _LABELS.get(zone.field)
        if label and zone.choice is None:
            x, y = canvas.xy(zone.rect.x, zone.rect.y + zone.rect.height + 2 * MM)
            canvas.draw.text((x, y - label_font.size), label, font=label_font, fill=110)
        if zone.choice is not None:
            x, y = canvas.xy(zone.rect.x + zone.rect.width + 2 * MM, zone.rect.y + zone.rect.height)
            canvas.draw.text((x, y), zone.choice.upper(), font=label_font, fill=60)


def _draw_text(
    canvas: _Canvas, zone: Zone, text: str, answers: Answers, rng: random.Random
) -> None:
    font = canvas.font(answers.font, answers.size_pt)
    pen = rng.randint(10, 70)
    stroke = round(answers.pen_mm * MM * canvas.scale / 2)
    centre_y = zone.rect.y + zone.rect.height / 2
    jitter = answers.jitter * MM
    if zone.kind is ZoneKind.COMB and zone.cells:
        cell = zone.rect.width / zone.cells
        for index, char in enumerate(text[: zone.cells]):
            cx = zone.rect.x + (index + 0.5) * cell + rng.uniform(-jitter, jitter)
            cy = centre_y + rng.uniform(-jitter, jitter)
            canvas.draw.text(
                canvas.xy(cx, cy), char, font=font, fill=pen, anchor="mm",
                stroke_width=stroke, stroke_fill=pen,
            )  # fmt: skip
        return
    x = zone.rect.x + 2 * MM
    for char in text:
        cy = centre_y + rng.uniform(-jitter, jitter) * 0.5
        canvas.draw.text(
            canvas.xy(x, cy), char, font=font, fill=pen, anchor="lm",
            stroke_width=stroke, stroke_fill=pen,
        )  # fmt: skip
        x += font.getlength(char) / canvas.scale + rng.uniform(0, jitter * 0.3)


def _draw_tick(canvas: _Canvas, zone: Zone, rng: random.Random) -> None:
    r = zone.rect
    width = max(1, round(0.5 * MM * canvas.scale))
    pen = rng.randint(10, 70)
    if rng.random() < 0.5:
        a = canvas.xy(r.x + 1 * MM, r.y + r.height - 1 * MM)
        b = canvas.xy(r.x + r.width - 1 * MM, r.y + 1 * MM)
        c = canvas.xy(r.x + 1 * MM, r.y + 1 * MM)
        d = canvas.xy(r.x + r.width - 1 * MM, r.y + r.height - 1 * MM)
        canvas.draw.line((a, b), fill=pen, width=width)
        canvas.draw.line((c, d), fill=pen, width=width)
    else:
        a = canvas.xy(r.x + 1.2 * MM, r.y + r.height * 0.5)
        b = canvas.xy(r.x + r.width * 0.42, r.y + 1.2 * MM)
        c = canvas.xy(r.x + r.width - 1 * MM, r.y + r.height - 0.8 * MM)
        canvas.draw.line((a, b, c), fill=pen, width=width, joint="curve")


def _draw_signature(canvas: _Canvas, zone: Zone, rng: random.Random) -> None:
    r = zone.rect
    points = []
    for step in range(60):
        t = step / 59
        x = r.x + 8 * MM + t * (r.width - 16 * MM)
        y = r.y + r.height / 2 + math.sin(t * rng.uniform(8, 14)) * r.height * 0.25
        points.append(canvas.xy(x, y))
    canvas.draw.line(
        points, fill=rng.randint(10, 60), width=max(1, round(0.45 * MM * canvas.scale))
    )


def _write(canvas: _Canvas, page: PageGeometry, answers: Answers, rng: random.Random) -> None:
    for zone in page.zones:
        if zone.kind in (ZoneKind.TEXT, ZoneKind.COMB) and answers.texts.get(zone.field):
            _draw_text(canvas, zone, answers.texts[zone.field], answers, rng)
        elif zone.kind is ZoneKind.CHECKBOX and (zone.field, zone.choice) in answers.ticks:
            _draw_tick(canvas, zone, rng)
        elif zone.kind is ZoneKind.SIGNATURE and answers.signed:
            _draw_signature(canvas, zone, rng)


def render_page(
    page: PageGeometry, payload: str, dpi: float, answers: Answers | None = None, seed: int = 0
) -> GrayImage:
    """The page as a scanner sees it, printed and filled in, before any degradation."""
    canvas = _Canvas(page, dpi)
    _draw_blank(canvas, page, payload)
    _write(canvas, page, answers or Answers(), random.Random(seed))
    return np.asarray(canvas.image, dtype=np.uint8).copy()


def fill_page(
    printed: GrayImage, page: PageGeometry, dpi: float, answers: Answers, seed: int = 0
) -> GrayImage:
    """Write the answers on a printed page (the service's own PDF rasterised at `dpi`)."""
    canvas = _Canvas(page, dpi, printed)
    _write(canvas, page, answers, random.Random(seed))
    return np.asarray(canvas.image, dtype=np.uint8).copy()


def render_blank(page: PageGeometry, payload: str, dpi: float) -> GrayImage:
    """The printed page with nothing written on it (what the service can render itself)."""
    return render_page(page, payload, dpi)


@dataclass(frozen=True)
class Degradation:
    """How a scan differs from the printed page."""

    rotation: float = 0.0
    turn: int = 0
    noise: float = 0.0
    speckle: int = 0
    blur: float = 0.0
    jpeg: int | None = None
    contrast: float = 1.0
    perspective: float = 0.0
    show_through: bool = False
    #: (right, down) shift in mm of a sheet fed into a scanner frame of the page's size:
    #: tilt and shift then push the sheet's edge (and a corner square) out of the scan,
    #: instead of the turned page being kept whole. None: the whole page is kept.
    frame_shift: tuple[float, float] | None = None


def degrade(image: GrayImage, how: Degradation, seed: int = 0) -> GrayImage:
    """Apply a scan's defects to a clean page image."""
    rng = np.random.default_rng(seed)
    out = image.astype(np.float32)
    height, width = image.shape
    if how.show_through:
        back = Image.new("L", (width, height), 0)
        font = ImageFont.truetype(TYPED_FONT, max(8, height // 90))
        draw = ImageDraw.Draw(back)
        for row in range(8, 100, 3):
            draw.text(
                (width * 0.08, height * row / 100),
                "Conditions générales du contrat " * 3,
                font=font,
                fill=255,
            )
        mirrored = np.asarray(back, dtype=np.float32)[:, ::-1]
        out -= mirrored * (40 / 255)
    if how.contrast != 1.0:
        out = 255 - (255 - out) * how.contrast
    if how.perspective:
        shift = how.perspective * min(width, height)
        src = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        dst = src + rng.uniform(-shift, shift, size=(4, 2)).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(out, matrix, (width, height), borderValue=(255,))
        out = np.asarray(warped, dtype=np.float32)
    if how.frame_shift is not None:
        per_mm = width / 210  # an A4 sheet
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), how.rotation, 1.0)
        matrix[0, 2] += how.frame_shift[0] * per_mm
        matrix[1, 2] += how.frame_shift[1] * per_mm
        framed = cv2.warpAffine(out, matrix, (width, height), borderValue=(255,))
        out = np.asarray(framed, dtype=np.float32)
        how = replace(how, rotation=0.0)
    if how.rotation or how.turn:
        angle = how.rotation + 90 * how.turn
        pil = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
        out = np.asarray(
            pil.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255),
            dtype=np.float32,
        )
    if how.blur:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), how.blur), dtype=np.float32)
    if how.noise:
        out += rng.normal(0, how.noise, size=out.shape).astype(np.float32)
    if how.speckle:
        ys = rng.integers(0, out.shape[0], how.speckle)
        xs = rng.integers(0, out.shape[1], how.speckle)
        out[ys, xs] = 0
    result = np.clip(out, 0, 255).astype(np.uint8)
    if how.jpeg is not None:
        buffer = io.BytesIO()
        Image.fromarray(result).save(buffer, format="JPEG", quality=how.jpeg)
        result = np.asarray(
            Image.open(io.BytesIO(buffer.getvalue())).convert("L"), dtype=np.uint8
        ).copy()
    return result


def require_font(path: str) -> None:
    """Fail, not skip, when a font file is missing: `make test` installs every font the tests
    use (scripts/install-system-packages.sh --tests), so a missing one is a broken install."""
    if not Path(path).is_file():
        pytest.fail(f"{path} is not installed: run scripts/install-system-packages.sh --tests")
