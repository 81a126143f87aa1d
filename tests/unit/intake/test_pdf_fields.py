"""Reading AcroForm values from PDFs made and filled by many tools, and refusing bad files."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.guard import (
    CorruptPdf,
    EncryptedPdf,
    NotAPdf,
    PdfBomb,
    PdfLimits,
    PdfRejected,
    PdfTooLarge,
    has_reference_loop,
    inflated_size,
    nesting_depth,
)
from forms_service.pdfforms.model import PdfFieldKind, ValueSource
from tests.pdf_forms import (
    FIXTURES,
    Box,
    FormPdf,
    appearance_bomb,
    declared_pages,
    drop_values,
    encrypt,
    fdf_of,
    fill_with_pdfium,
    fill_with_pdftk,
    fill_with_pypdf,
    hand_written_pdf,
    orphan_widgets,
    run_tool,
)

BOXES = (
    Box("city"),
    Box("postcode", "comb", max_length=5),
    Box("consent", "checkbox"),
    Box("channel", "radio", options=("email", "sms", "post")),
    Box("document_token", hidden=True, value="token-value"),
)
ANSWERS = {"city": "Lyon", "postcode": "69003", "consent": "/Yes", "channel": "/sms"}


@pytest.fixture(scope="module")
def blank() -> bytes:
    return FormPdf(BOXES).build()


@pytest.fixture(scope="module")
def filled(blank: bytes) -> bytes:
    return fill_with_pypdf(blank, ANSWERS)


def _values(content: bytes, reader: str = "auto") -> dict[str, str | None]:
    return {name: f.value for name, f in read_pdf_form(content, reader=reader).fields.items()}


def test_blank_form_describes_every_widget(blank: bytes) -> None:
    form = read_pdf_form(blank)
    assert list(form.fields) == ["city", "postcode", "consent", "channel", "document_token"]
    postcode = form.fields["postcode"]
    assert (postcode.kind, postcode.max_length, postcode.comb) == (PdfFieldKind.TEXT, 5, True)
    assert form.fields["consent"].states == ("Yes",)
    assert form.fields["channel"].kind is PdfFieldKind.RADIO
    assert form.fields["channel"].states == ("email", "sms", "post")
    assert form.fields["document_token"].hidden and not form.fields["city"].hidden
    assert form.fields["city"].page == 1 and form.fields["city"].rect is not None
    assert all(f.value is None for n, f in form.fields.items() if n != "document_token")
    assert form.has_fields and form.page_count == 1


@pytest.mark.parametrize("need_appearances", [True, False])
@pytest.mark.parametrize("reader", ["pdfplumber", "pypdf"])
def test_filled_by_pypdf(blank: bytes, need_appearances: bool, reader: str) -> None:
    content = fill_with_pypdf(blank, ANSWERS, need_appearances=need_appearances)
    form = read_pdf_form(content, reader=reader)
    assert form.need_appearances is need_appearances
    assert {n: f.value for n, f in form.fields.items()} == {
        "city": "Lyon",
        "postcode": "69003",
        "consent": "Yes",
        "channel": "sms",
        "document_token": "token-value",
    }


def test_incremental_update_last_revision_wins(filled: bytes) -> None:
    updated = fill_with_pypdf(filled, {"city": "Paris", "consent": "/Off"}, incremental=True)
    assert updated.startswith(filled)  # an incremental update only appends
    for reader in ("pdfplumber", "pypdf"):
        values = _values(updated, reader=reader)
        assert values["city"] == "Paris"
        assert values["consent"] is None
        assert values["postcode"] == "69003"


@pytest.mark.parametrize("reader", ["pdfplumber", "pypdf"])
def test_value_only_in_appearance_stream(filled: bytes, reader: str) -> None:
    content = drop_values(filled, ["city", "postcode"])
    form = read_pdf_form(content, reader=reader)
    assert form.fields["city"].value == "Lyon"
    assert form.fields["city"].source is ValueSource.APPEARANCE
    assert form.fields["postcode"].value == "69003"


def test_value_only_in_appearance_stream_from_acrobat() -> None:
    form = read_pdf_form((FIXTURES / "pdfjs" / "issue15818.pdf").read_bytes())
    assert form.fields["Text9"].value == "hello world"
    assert form.fields["Text9"].source is ValueSource.APPEARANCE


@pytest.mark.parametrize("need_appearances", [True, False])
def test_filled_by_pdftk_with_non_latin_text(
    blank: bytes, tmp_path: Path, need_appearances: bool
) -> None:
    data = fdf_of({"city": "Čáslav — Москва — 東京", "postcode": "69003", "channel": "/post"})
    content = fill_with_pdftk(blank, data, tmp_path, need_appearances=need_appearances)
    values = _values(content)
    assert values["city"] == "Čáslav — Москва — 東京"
    assert values["channel"] == "post"
    assert values["consent"] is None


@pytest.mark.parametrize("incremental", [False, True])
def test_filled_by_pdfium_like_chromiums_viewer(blank: bytes, incremental: bool) -> None:
    # PDFium is the PDF engine of Chromium's viewer: typed into and clicked like a person.
    answers = {"city": "Čáslav 東京", "postcode": "69003", "consent": "/Yes", "channel": "/post"}
    content = fill_with_pdfium(blank, answers, incremental=incremental)
    assert content.startswith(blank) is incremental
    values = _values(content)
    assert values["city"] == "Čáslav 東京" and values["postcode"] == "69003"
    assert values["consent"] == "Yes" and values["channel"] == "post"


def test_php_pdftk_data_and_a_checkbox_state_that_does_not_exist(tmp_path: Path) -> None:
    # php-pdftk's own fill data: UTF-16 Czech and Russian text, and /V /0 for a checkbox whose
    # only states are /Yes and /Off (the box stays unticked in every viewer).
    blank = FormPdf(
        [
            Box("email"),
            Box("name"),
            Box("checkbox 1", "checkbox"),
            Box("checkbox 2", "checkbox"),
            Box("radio 1", "radio", options=("1", "2", "3")),
        ]
    ).build()
    data = (FIXTURES / "php-pdftk" / "data.fdf").read_bytes()
    values = _values(fill_with_pdftk(blank, data, tmp_path, need_appearances=False))
    assert values["email"] == "test@email.com"
    assert values["name"] is not None and "мирано" in values["name"] and "čárka" in values["name"]
    assert values["checkbox 1"] == "Yes"
    assert values["checkbox 2"] is None
    assert values["radio 1"] == "2"


@pytest.mark.parametrize(
    "arguments",
    [
        ["--object-streams=generate"],
        ["--linearize"],
        ["--qdf"],
    ],
)
def test_rewritten_by_qpdf(filled: bytes, tmp_path: Path, arguments: list[str]) -> None:
    (tmp_path / "in.pdf").write_bytes(filled)
    run_tool(["qpdf", *arguments, "in.pdf", "out.pdf"], tmp_path)
    values = _values((tmp_path / "out.pdf").read_bytes())
    assert values["city"] == "Lyon" and values["channel"] == "sms" and values["consent"] == "Yes"


def test_widgets_missing_from_the_field_list(filled: bytes) -> None:
    form = read_pdf_form(orphan_widgets(filled, ["city", "channel"]))
    assert form.fields["city"].value == "Lyon" and form.fields["city"].orphan
    assert form.fields["channel"].value == "sms" and form.fields["channel"].orphan
    assert not form.fields["postcode"].orphan


def test_orphan_widgets_of_a_form_saved_by_pypdf() -> None:
    form = read_pdf_form((FIXTURES / "pypdfform" / "PPF-1162.pdf").read_bytes())
    orphans = [f for f in form.fields.values() if f.orphan]
    assert len(orphans) == 25
    assert "form1[0].#subform[6].Part10_Item5_Email[0]" in form.fields


def test_acrobat_custom_on_state_radio_lists_and_signature() -> None:
    form = read_pdf_form((FIXTURES / "pdfbox" / "acroform.pdf").read_bytes())
    assert form.fields["CheckBox1"].value == "Ja" and form.fields["CheckBox1"].states == ("Ja",)
    assert form.fields["CheckBox2"].value is None
    assert form.fields["GroupOption"].value == "Option2"
    assert form.fields["GroupOption"].states == ("Option1", "Option2")
    assert form.fields["ListBoxMultiSelect"].value == "Earth,Sun,Venus"
    assert form.fields["Signature"].kind is PdfFieldKind.SIGNATURE
    assert form.fields["Button"].kind is PdfFieldKind.PUSHBUTTON


def test_pdf_lib_hierarchical_names_and_radio_export_values() -> None:
    form = read_pdf_form((FIXTURES / "pdf-lib" / "create_form.pdf").read_bytes())
    assert form.fields["favorite.superhero"].value == "One Punch Man"
    rocket = form.fields["favorite.rocket"]
    assert rocket.value == "Saturn IV"  # state "1", export value from /Opt
    assert rocket.states == ("Falcon Heavy", "Saturn IV", "Delta IV Heavy", "Space Launch System")
    assert form.fields["gundam.exia"].value == "Yes"


def test_xfa_hybrid_reads_the_acroform_part() -> None:
    form = read_pdf_form((FIXTURES / "pdfjs" / "annotation-text-widget.pdf").read_bytes())
    assert form.xfa
    field = form.fields["formulier1[0].#subform[0].Tekstveld6[0]"]
    assert field.value == "abcdefghijklmnopqrstuvwxyz"
    assert field.comb and field.max_length == 26


def test_comb_fields_and_non_latin_field_names() -> None:
    comb = read_pdf_form((FIXTURES / "pdfbox" / "CombTest.pdf").read_bytes())
    assert comb.fields["CombLeft"].value == "abcdefgh"
    assert comb.fields["CombLeft"].comb and comb.fields["CombLeft"].max_length == 10
    fancy = read_pdf_form((FIXTURES / "pdf-lib" / "fancy_fields.pdf").read_bytes())
    assert fancy.fields["First Name 🚀"].value == "Cedar"


def test_french_tax_form_and_libreoffice_form() -> None:
    tax = read_pdf_form((FIXTURES / "french-dgfip" / "5000-sd_4482.pdf").read_bytes())
    assert len(tax.fields) == 74 and tax.page_count == 6
    assert tax.fields["cac2"].states == ("A", "B")
    office = read_pdf_form((FIXTURES / "pypdf" / "FormTestFromOo.pdf").read_bytes())
    assert office.need_appearances and office.producer == "LibreOffice 6.0"
    assert office.fields["RadioGroup1"].states == ("1", "2", "3")
    assert office.fields["Combo1"].options[0] == ("combo Line 1", "combo Line 1")


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.pdf")), ids=lambda p: p.name)
def test_both_readers_agree_on_public_forms(path: Path) -> None:
    content = path.read_bytes()
    if path.name == "issue19484_2.pdf":
        for reader in ("pdfplumber", "pypdf"):
            with pytest.raises(EncryptedPdf):
                read_pdf_form(content, reader=reader)
        return
    assert _values(content, reader="pdfplumber") == _values(content, reader="pypdf")


def test_flattened_pdf_has_no_fields() -> None:
    form = read_pdf_form((FIXTURES / "pdf-lib" / "flatten_form.pdf").read_bytes())
    assert not form.has_fields


@pytest.mark.parametrize("algorithm", ["AES-256", "RC4-128", "AES-128"])
def test_encrypted_with_empty_user_password_is_read(filled: bytes, algorithm: str) -> None:
    form = read_pdf_form(encrypt(filled, user_password="", algorithm=algorithm))
    assert form.encrypted
    assert form.fields["city"].value == "Lyon"


def test_password_protected_pdf_is_refused(filled: bytes) -> None:
    with pytest.raises(EncryptedPdf) as caught:
        read_pdf_form(encrypt(filled, user_password="secret"))
    assert caught.value.status == 422 and caught.value.field == "file"
    assert "password" in caught.value.reason


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", NotAPdf),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, NotAPdf),
        (b"Name;IBAN\nDupont;FR76\n", NotAPdf),
        (b"%PDF-1.7\nthis is not a pdf body at all\n%%EOF\n", CorruptPdf),
    ],
)
def test_not_a_pdf_or_garbage(content: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_pdf_form(content)


def test_truncated_pdf_is_refused(filled: bytes) -> None:
    with pytest.raises(CorruptPdf) as caught:
        read_pdf_form(filled[: len(filled) * 2 // 3])
    assert "incomplete" in caught.value.reason


def test_size_limit(filled: bytes) -> None:
    with pytest.raises(PdfTooLarge) as caught:
        read_pdf_form(filled, PdfLimits(max_bytes=len(filled) - 1))
    assert caught.value.status == 413


def test_page_count_bomb_is_refused_before_reading(filled: bytes) -> None:
    with pytest.raises(PdfBomb, match="1000000000 pages"):
        read_pdf_form(declared_pages(filled, 1_000_000_000))


def test_too_many_real_pages() -> None:
    content = FormPdf([Box("city")], pages=12).build()
    assert read_pdf_form(content, PdfLimits(max_pages=12)).page_count == 12
    with pytest.raises(PdfBomb):
        read_pdf_form(content, PdfLimits(max_pages=11))


def test_deep_nesting_is_refused_unparsed() -> None:
    body = b"1 0 obj\n" + b"[" * 5000 + b"]" * 5000 + b"\nendobj\n"
    content = b"%PDF-1.4\n" + body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    assert nesting_depth(content) == 5000
    with pytest.raises(PdfBomb, match="5000 levels"):
        read_pdf_form(content)


def test_nesting_depth_skips_stream_bytes() -> None:
    content = b"<< /Length 4 >>\nstream\n[[[[\nendstream\n[ << >> ]"
    assert nesting_depth(content) == 2


def test_appearance_that_inflates_without_end_is_refused(blank: bytes) -> None:
    with pytest.raises(PdfBomb):
        read_pdf_form(appearance_bomb(blank, "city"))


def test_too_many_fields(blank: bytes) -> None:
    with pytest.raises(PdfBomb, match="form fields"):
        read_pdf_form(blank, PdfLimits(max_fields=3))


def test_limits_check_themselves() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        PdfLimits(max_pages=0)


@pytest.mark.parametrize("seed", range(3))
def test_damaged_files_are_read_or_refused_cleanly(filled: bytes, seed: int) -> None:
    # Regression: bytes damaged inside objects made pdfminer raise PSSyntaxError and
    # pdfplumber MalformedPDFException out of the walk (found by mutating the fixtures).
    rng = random.Random(seed)
    originals = [filled] + [
        (FIXTURES / name).read_bytes()
        for name in ("pdfbox/acroform.pdf", "pdf-lib/create_form.pdf", "pdfjs/issue15818.pdf")
    ]
    outcomes: dict[str, int] = {}
    for _ in range(50):
        damaged = bytearray(rng.choice(originals))
        for _ in range(rng.choice([1, 5, 50])):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            read_pdf_form(bytes(damaged))
            outcome = "read"
        except PdfRejected as refusal:
            outcome = refusal.code
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) <= {"read", "pdf_corrupt", "pdf_too_complex", "not_a_pdf"}


def test_compressed_data_that_expands_too_far_is_refused_unparsed(blank: bytes) -> None:
    bomb = appearance_bomb(blank, "city", size=24 * 1024 * 1024)
    assert len(bomb) < 200_000
    with pytest.raises(PdfBomb, match="expands to more than 8 MB"):
        read_pdf_form(bomb, PdfLimits(max_inflated_bytes=8 * 1024 * 1024))
    assert inflated_size(blank, _streams(blank), 10**9) < 100_000


def _streams(content: bytes) -> list[tuple[int, int]]:
    starts = [
        m.end()
        for m in re.finditer(rb"stream\r?\n", content)
        if content[m.start() - 3 : m.start()] != b"end"
    ]
    return [(start, content.find(b"endstream", start)) for start in starts]


@pytest.mark.parametrize(
    "field",
    [
        b"<< /FT /Tx /T (city) /V 6 0 R >>",  # the value
        b"<< /FT /Tx /T (city) /V (Lyon) /Kids [6 0 R] >>",  # a kid
        b"<< /FT 6 0 R /T (city) /V (Lyon) >>",  # the field type
    ],
)
@pytest.mark.parametrize("reader", ["auto", "pdfplumber", "pypdf"])
def test_references_that_loop_are_refused_not_followed_forever(field: bytes, reader: str) -> None:
    # Regression: a 600-byte upload whose "6 0 R" names "7 0 R" naming "6 0 R" hung the
    # request in pdfminer's resolve1, which follows references without end.
    content = hand_written_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 3 >>\nstream\nq Q\nendstream",
        field,
        b"7 0 R",
        b"6 0 R",
    )
    with pytest.raises(CorruptPdf):
        read_pdf_form(content, reader=reader)


@pytest.mark.parametrize(
    ("catalog", "pages"),
    [
        (b"6 0 R", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),  # the catalogue itself
        (b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>"),
    ],
)
def test_reference_loops_pdfminer_follows_itself_are_refused_before_parsing(
    catalog: bytes, pages: bytes
) -> None:
    # Regression: the same loop as the catalogue or a page of the page tree hung inside
    # pdfminer itself (opening the file, listing its pages), out of our resolver's reach.
    content = hand_written_pdf(
        catalog,
        pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 3 >>\nstream\nq Q\nendstream",
        b"<< /FT /Tx /T (city) /V (Lyon) >>",
        b"7 0 R",
        b"6 0 R",
    )
    with pytest.raises(CorruptPdf, match="loop"):
        read_pdf_form(content)


def test_a_chain_of_references_that_ends_is_no_loop() -> None:
    chain = b"6 0 obj\n7 0 R\nendobj\n7 0 obj 8 0 R endobj\n8 0 obj\n(Lyon)\nendobj\n"
    assert not has_reference_loop(b"%PDF-1.7\n" + chain)
    assert has_reference_loop(b"%PDF-1.7\n" + chain.replace(b"(Lyon)", b"6 0 R"))
    assert has_reference_loop(b"%PDF-1.7\n9 0 obj\r\n9 0 R\r\nendobj\r\n")
