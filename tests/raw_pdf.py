"""Tiny PDFs written byte by byte, for structures no filler writes on request.

A name object with bytes that are not UTF-8 (`/Pr#E9sent`), a text field whose /V is empty
while its appearance still draws the old text, an XFA entry beside the AcroForm: each test
writes exactly the objects it needs and `build` adds the cross-reference table.
"""

from __future__ import annotations

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
