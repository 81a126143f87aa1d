"""Cached font subsets: the same bytes as reportlab's own TrueType font, built once per subset."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable

import pytest
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from forms_service.issuing.fonts import FONT_DIR, CachedSubsetFont

TEXTS = (
    ("Mme Hélène Lefèvre", "Écrivez en MAJUSCULES « inchangé » – 12 rue des Lilas"),
    ("M. François Nœl", "Ça coûte 3 € ; Zoë, Ÿvon, Ørsted, Łódź, Øre"),
    ("Mme Hélène Lefèvre", "Écrivez en MAJUSCULES « inchangé » – 8 avenue Foch"),
    # more characters than one 256-character subset: reportlab opens a second subset
    (
        "Ω " + "".join(chr(c) for c in range(0x100, 0x17F)),
        "Ж" + "".join(map(chr, range(0x410, 0x44F))),
    ),
)


@pytest.fixture
def invariant() -> object:
    """reportlab's repeatable output (fixed dates and ID), so two files can be compared."""
    saved = rl_config.invariant
    rl_config.invariant = 1
    yield
    rl_config.invariant = saved


def _pdf(font_name: str, lines: tuple[str, str], *, compression: int = 1) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=compression)
    for page in range(2):
        canvas.setFont(font_name, 11)
        for index, line in enumerate(lines):
            canvas.drawString(50, 700 - 20 * index - page, line)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def own_registry() -> object:
    """reportlab's font registry as it was, after each test."""
    saved = dict(pdfmetrics._fonts), dict(pdfmetrics._dynFaceNames)
    yield
    pdfmetrics._fonts.clear()
    pdfmetrics._fonts.update(saved[0])
    pdfmetrics._dynFaceNames.clear()
    pdfmetrics._dynFaceNames.update(saved[1])


def _register(font: TTFont) -> str:
    # reportlab maps a new name to the first font registered for the same face (DejaVu
    # Sans): forget it, so that the name draws with this very font object.
    pdfmetrics._dynFaceNames.pop(font.face.name, None)
    pdfmetrics.registerFont(font)
    assert pdfmetrics.getFont(font.fontName) is font
    return str(font.fontName)


@pytest.mark.usefixtures("invariant")
@pytest.mark.parametrize("compression", [1, 0])
def test_every_document_is_byte_identical_to_reportlabs_own_font(compression: int) -> None:
    path = str(FONT_DIR / "DejaVuSans.ttf")
    documents = (*TEXTS, *TEXTS)  # the second round is served from the cache
    plain = _register(TTFont("TestPlainDejaVu", path))
    expected = [_pdf(plain, lines, compression=compression) for lines in documents]
    cached = _register(CachedSubsetFont("TestCachedDejaVu", path))
    got = [_pdf(cached, lines, compression=compression) for lines in documents]
    assert got == expected
    assert len(set(expected)) == len(TEXTS)  # the documents differ from one another


def test_a_subset_is_built_once_and_the_cache_stays_bounded() -> None:
    font = CachedSubsetFont("TestCountedDejaVu", str(FONT_DIR / "DejaVuSans.ttf"))
    name = _register(font)
    built: list[list[int]] = []
    make_subset: Callable[[list[int]], bytes] = font.face.makeSubset

    def counted_make_subset(subset: list[int]) -> bytes:
        built.append(subset)
        return make_subset(subset)

    font.face.makeSubset = counted_make_subset
    for _ in range(5):
        _pdf(name, TEXTS[0])
    assert len(built) == 1
    for index in range(font.CACHE_SIZE + 10):  # every document a new subset
        _pdf(name, (f"{chr(0x100 + index)}{chr(0x180 + index)}", "x"))
    assert len(font._cache) == font.CACHE_SIZE


def test_cached_subsets_extract_with_their_accents(tmp_path: object) -> None:
    name = _register(CachedSubsetFont("TestExtractDejaVu", str(FONT_DIR / "DejaVuSans.ttf")))
    for lines in TEXTS[:3]:
        _pdf(name, lines)  # warm the cache with other documents first
    data = _pdf(name, TEXTS[1])
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert "M. François Nœl" in text
    assert "Ça coûte 3 € ; Zoë, Ÿvon, Ørsted, Łódź, Øre" in text
