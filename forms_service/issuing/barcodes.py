"""QR codes drawn as vector paths: the letter's link and each form page's signed code."""

from __future__ import annotations

import segno
from reportlab.lib.colors import black
from reportlab.pdfgen.canvas import Canvas


def qr_code(payload: str) -> segno.QRCode:
    """A QR code at error correction M with a fixed mask.

    Any mask is valid; choosing the best one (segno's default) costs most of the encoding
    time and gains nothing measurable for codes printed this large.
    """
    return segno.make(payload, error="m", micro=False, mask=0, boost_error=False)


def draw_qr(canvas: Canvas, code: segno.QRCode, x: float, y: float, size: float) -> None:
    """Draw a QR code's modules (no quiet zone) into a square, as one path of row runs.

    The path is written in module units under one scaling, as literal PDF operators: this
    is the hot loop of a campaign, and reportlab's per-number formatting dominated it.
    """
    matrix = code.matrix
    modules = len(matrix)
    operators = []
    for row_index, row in enumerate(matrix):
        top = modules - row_index - 1
        start = -1
        for column, dark in enumerate((*row, 0)):
            if dark and start < 0:
                start = column
            elif not dark and start >= 0:
                operators.append(f"{start} {top} {column - start} 1 re")
                start = -1
    step = size / modules
    canvas.saveState()
    canvas.setFillColor(black)
    canvas.transform(step, 0, 0, step, x, y)
    canvas.addLiteral("\n".join(operators) + "\nf")
    canvas.restoreState()
