"""Set the page upright from its QR code and align it on the four registration marks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from ocr.geometry import PageGeometry, Rect
from ocr.identify import CodeFinding, Point
from ocr.interfaces import GrayImage
from ocr.model import MarksNotFound

MM = 72 / 25.4
"""One millimetre in PDF points."""

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class UprightPage:
    """The scan turned by a multiple of 90 degrees so that its code reads upright.

    Attributes:
        image: the turned image.
        rotation: degrees the reader turned the scan counter-clockwise to set it upright
            (0, 90, 180, 270).
        skew: the remaining clockwise tilt in degrees, corrected by the alignment.
        code: the code with its corners in the turned image.
    """

    image: GrayImage
    rotation: int
    skew: float
    code: CodeFinding


@dataclass(frozen=True)
class AlignedPage:
    """The scan mapped onto the template: pixel (x, y) is template point (x, y) x dpi/72.

    Only the regions the reader looks at are warped (`region`), which is several times
    cheaper than warping the whole page; `image` warps the whole page when asked.

    Attributes:
        source: the upright scan.
        matrix: the perspective transform from `source` pixels to aligned pixels.
        dpi: the aligned resolution.
        page: the template page.
        black: gray level of the printed registration marks (the page's darkest ink).
        paper: gray level of the paper around them.
    """

    source: GrayImage
    matrix: Matrix
    dpi: float
    page: PageGeometry
    black: float
    paper: float
    #: PNG crops already encoded, by pixel box: the squares of one choice share theirs.
    crops: dict[tuple[int, int, int, int], bytes] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the aligned page in pixels."""
        return round(self.page.width * self.dpi / 72), round(self.page.height * self.dpi / 72)

    @cached_property
    def image(self) -> GrayImage:
        """The whole aligned page."""
        width, height = self.size
        return self.region((0, 0, width, height))

    def region(self, box: tuple[int, int, int, int]) -> GrayImage:
        """The aligned pixels of a box (left, top, right, bottom); white outside the scan."""
        left, top, right, bottom = box
        shift = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]], dtype=np.float64)
        warped = cv2.warpPerspective(
            self.source,
            shift @ self.matrix,
            (max(1, right - left), max(1, bottom - top)),
            flags=cv2.INTER_LINEAR,
            borderValue=(255,),
        )
        return np.asarray(warped, dtype=np.uint8)

    def box(self, rect: Rect) -> tuple[int, int, int, int]:
        """Pixel box (left, top, right, bottom) of a template rectangle."""
        scale = self.dpi / 72
        left = round(rect.x * scale)
        right = round((rect.x + rect.width) * scale)
        top = round((self.page.height - rect.y - rect.height) * scale)
        bottom = round((self.page.height - rect.y) * scale)
        return left, top, right, bottom


def _rotate_point(point: Point, width: int, height: int, turns: int) -> Point:
    x, y = point
    for _ in range(turns):
        # np.rot90 (counter-clockwise) maps (x, y) of a w x h image to (y, w - 1 - x).
        x, y = y, width - 1 - x
        width, height = height, width
    return x, y


def set_upright(gray: GrayImage, code: CodeFinding) -> UprightPage:
    """Turn the page by the multiple of 90 degrees that makes its QR code upright."""
    (x0, y0), (x1, y1) = code.corners[0], code.corners[1]
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    turns = round(angle / 90) % 4
    skew = angle - 90 * round(angle / 90)
    height, width = gray.shape
    image = np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray
    corners = tuple(_rotate_point(p, width, height, turns) for p in code.corners)
    turned = CodeFinding(code.payload, corners)  # type: ignore[arg-type]
    return UprightPage(image, 90 * turns, skew, turned)


def _template_points(page: PageGeometry, points: list[Point]) -> npt.NDArray[np.float32]:
    """Template points (PDF, origin bottom-left) to top-down point coordinates."""
    return np.array([(x, page.height - y) for x, y in points], dtype=np.float32)


def _qr_similarity(page: PageGeometry, code: CodeFinding) -> Matrix:
    qr = page.qr
    template = _template_points(
        page,
        [
            (qr.x, qr.y + qr.height),
            (qr.x + qr.width, qr.y + qr.height),
            (qr.x + qr.width, qr.y),
            (qr.x, qr.y),
        ],
    )
    found = np.array(code.corners, dtype=np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(template, found)
    if matrix is None:
        raise MarksNotFound("the code's corners give no usable page position")
    return matrix.astype(np.float64)


def _find_mark(
    gray: GrayImage, centre: Point, side: float, margin: float
) -> tuple[Point, float, float] | None:
    """The centre of the solid square nearest `centre`, its ink level and the paper level."""
    height, width = gray.shape
    half = side + margin
    left, top = max(0, int(centre[0] - half)), max(0, int(centre[1] - half))
    right, bottom = min(width, int(centre[0] + half)), min(height, int(centre[1] + half))
    if right - left < side or bottom - top < side:
        return None
    window = gray[top:bottom, left:right]
    threshold, dark = cv2.threshold(window, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    best: tuple[float, int] | None = None
    expected = side * side
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        box_w, box_h = stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]
        if not 0.5 * expected <= area <= 1.8 * expected:
            continue
        if area < 0.7 * box_w * box_h or not 0.7 <= box_w / box_h <= 1.4:
            continue
        cx, cy = centroids[label]
        distance = math.hypot(cx + left - centre[0], cy + top - centre[1])
        if best is None or distance < best[0]:
            best = (distance, label)
    if best is None:
        return None
    label = best[1]
    mask = labels == label
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    black = float(np.median(window[eroded.astype(bool)])) if eroded.any() else float(threshold) / 2
    paper = float(np.median(window[dark == 0]))
    cx, cy = centroids[label]
    return (float(cx + left), float(cy + top)), black, paper


def align_page(upright: UprightPage, page: PageGeometry, dpi: float = 300) -> AlignedPage:
    """Find the four registration marks and warp the page onto the template at `dpi`.

    The QR code gives a first estimate of where each mark is (scale, shift and tilt); each
    solid square is then searched near its estimate, and the perspective transform from the
    four found centres to the template centres corrects skew, scale and slight perspective.

    Raises:
        MarksNotFound: a registration mark is missing or not where the code says.
    """
    similarity = _qr_similarity(page, upright.code)
    scale = math.sqrt(abs(np.linalg.det(similarity[:, :2])))
    side = page.mark_size * scale
    template = _template_points(page, list(page.marks))
    predicted = cv2.transform(template.reshape(-1, 1, 2), similarity).reshape(-1, 2)
    found: list[Point] = []
    blacks: list[float] = []
    papers: list[float] = []
    for index, centre in enumerate(predicted):
        centre_point = (float(centre[0]), float(centre[1]))
        mark = _find_mark(upright.image, centre_point, side, 6 * MM * scale)
        if mark is None:
            raise MarksNotFound(f"registration mark {index + 1} not found")
        found.append(mark[0])
        blacks.append(mark[1])
        papers.append(mark[2])
    target = template * (dpi / 72)
    source = np.array(found, dtype=np.float32)
    if len(found) == 4:
        matrix = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    else:
        matrix, _ = cv2.findHomography(source, target)
    return AlignedPage(
        upright.image,
        np.asarray(matrix, dtype=np.float64),
        dpi,
        page,
        float(np.median(blacks)),
        float(np.median(papers)),
    )
