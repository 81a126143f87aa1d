"""Tiny PDFs written byte by byte, for structures no filler writes on request.

A name object with bytes that are not UTF-8 (`/Pr#E9sent`), a text field whose /V is empty
while its appearance still draws the old text, an XFA entry beside the AcroForm: each test
writes exactly the objects it needs and `build` adds the cross-reference table.
"""

from __future__ import annotations

import re

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def build(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF file of `objects` (object 1 first), with a valid xref table and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    """A stream object's body."""
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def text_drawing(text: bytes) -> bytes:
    """An appearance stream body that draws `text` (WinAnsi bytes) with Helvetica."""
    return stream(
        b"/Tx BMC BT /Helv 10 Tf 2 5 Td (" + text + b") Tj ET EMC",
        b"/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /Helv 6 0 R >> >>",
    )


def form(
    fields: list[bytes],
    extra_objects: list[bytes],
    *,
    acroform_extra: bytes = b"",
    page_content: bytes = b"",
) -> bytes:
    """One page whose /Annots and /AcroForm /Fields are objects 7.. (`fields`, in order).

    Objects: 1 catalog, 2 pages, 3 page, 4 AcroForm, 5 page content, 6 Helvetica, then the
    fields (7, 8, ...), then `extra_objects` (their numbers follow the fields').
    """
    numbers = [7 + i for i in range(len(fields))]
    refs = b" ".join(b"%d 0 R" % n for n in numbers)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R"
        b" /Resources << /Font << /F1 6 0 R >> >> /Annots [" + refs + b"] >>",
        b"<< /Fields ["
        + refs
        + b"] /DR << /Font << /Helv 6 0 R >> >> /DA (/Helv 0 Tf 0 g)"
        + acroform_extra
        + b" >>",
        stream(page_content),
        _FONT,
        *fields,
        *extra_objects,
    ]
    return build(objects)


_BOX = b"/Type /XObject /Subtype /Form /BBox [0 0 14 14]"


def legacy_hybrid_form(*, xfa: bool = True) -> bytes:
    """An old tool's form: a text field `ville` ("Lyon"), a radio group `statut` whose states
    are Latin-1 bytes (`/Pr#E9sent`, `/R#E9sili#E9`, "Présent" chosen), and, when `xfa`, an
    XFA part with empty data and /NeedsRendering, as LiveCycle hybrids carry.
    """
    xfa_packet = (
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template '
        b'xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1">'
        b'<field name="ville"/></subform></template><xfa:datasets '
        b'xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data/></xfa:datasets>'
        b"</xdp:xdp>"
    )
    pdf = form(
        [
            b"<< /FT /Tx /T (ville) /V (Lyon) /Type /Annot /Subtype /Widget"
            b" /Rect [50 760 250 780] /P 3 0 R /DA (/Helv 10 Tf 0 g) /AP << /N 10 0 R >> >>",
            b"<< /FT /Btn /Ff 49152 /T (statut) /V /Pr#E9sent /Kids [9 0 R 11 0 R] >>",
            b"<< /Type /Annot /Subtype /Widget /Parent 8 0 R /Rect [50 700 64 714] /P 3 0 R"
            b" /AS /Pr#E9sent /AP << /N << /Pr#E9sent 12 0 R /Off 13 0 R >> >> >>",
        ],
        [
            text_drawing(b"Lyon"),
            b"<< /Type /Annot /Subtype /Widget /Parent 8 0 R /Rect [80 700 94 714] /P 3 0 R"
            b" /AS /Off /AP << /N << /R#E9sili#E9 12 0 R /Off 13 0 R >> >> >>",
            stream(b"0 g 2 2 10 10 re f", _BOX),
            stream(b"", _BOX),
            stream(xfa_packet),
        ],
        acroform_extra=b" /XFA 14 0 R" if xfa else b"",
    )
    # The radio widgets (9, 11) on the page too, and the catalog asking for the XFA drawing.
    pdf = pdf.replace(b"/Annots [7 0 R 8 0 R 9 0 R]", b"/Annots [7 0 R 9 0 R 11 0 R]")
    pdf = pdf.replace(b"/Fields [7 0 R 8 0 R 9 0 R]", b"/Fields [7 0 R 8 0 R]    ")
    if xfa:
        pdf = pdf.replace(b"/AcroForm 4 0 R >>", b"/AcroForm 4 0 R /NeedsRendering true >>")
    return reindex(pdf)


def reindex(pdf: bytes) -> bytes:
    """Rebuild the xref table of a file edited in place (offsets moved)."""
    bodies = re.findall(rb"\d+ 0 obj\n(.*?)\nendobj\n", pdf, re.DOTALL)
    return build(list(bodies))
