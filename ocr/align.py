"""Set the page upright from its QR code and align it on its registration marks and boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from ocr.geometry import PageGeometry, Rect
from ocr.grid import grid_rects, line_level, measure_grid
from ocr.identify import CodeFinding, Point
from ocr.interfaces import GrayImage
from ocr.model import MarksNotFound, MisalignedPage

MM = 72 / 25.4
"""One millimetre in PDF points."""
#: Fewest registration marks an alignment is fitted on: three fix an affine map.
MIN_MARKS = 3
#: Largest distance (mm on the page) between where the fitted alignment puts a mark, a code
#: corner or a box corner and where the scan has it: beyond it, zones would be read off
#: their boxes (the smallest box is 6 mm wide) and the page goes to an operator.
MAX_RESIDUAL_MM = 1.5
#: A mark counts as much as this many code or box corners in a fit (it is measured best).
MARK_WEIGHT = 3.0
#: Share of the printed box corners a fit on fewer than four marks must find where it puts
#: them (a fit off by more than the search radius finds none, and could not be checked).
GRID_SHARE = 0.5

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
        marks: how many registration marks the alignment was fitted on (3 or 4).
        residual: the largest disagreement (mm) between the fit and a measured point.
        boxes: share of the printed box corners found where the fit puts them (1.0 on a
            page without boxes): which way up a page without its code is (orientation.py).
    """

    source: GrayImage
    matrix: Matrix
    dpi: float
    page: PageGeometry
    black: float
    paper: float
    marks: int = 4
    residual: float = 0.0
    boxes: float = 1.0
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


def _code_template(page: PageGeometry) -> npt.NDArray[np.float32]:
    """The code's corners as printed (top-left, top-right, bottom-right, bottom-left)."""
    qr = page.qr
    return _template_points(
        page,
        [
            (qr.x, qr.y + qr.height),
            (qr.x + qr.width, qr.y + qr.height),
            (qr.x + qr.width, qr.y),
            (qr.x, qr.y),
        ],
    )


def code_similarity(page: PageGeometry, code: CodeFinding) -> Matrix:
    """The similarity (2x3) taking template points (top-down) to the code's corners on the scan."""
    template = _code_template(page)
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
        box_x, box_y = stats[label, cv2.CC_STAT_LEFT] + left, stats[label, cv2.CC_STAT_TOP] + top
        if box_x <= 0 or box_y <= 0 or box_x + box_w >= width or box_y + box_h >= height:
            continue  # cut by the scan's edge: its centre is not the square's
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


def _affine(source: Matrix, target: Matrix, weights: Matrix) -> Matrix:
    """The affine map (as a 3x3 matrix) taking `source` points nearest `target`, weighted."""
    ones = np.ones((len(source), 1))
    design = np.hstack([source, ones]) * weights[:, None]
    solution, *_ = np.linalg.lstsq(design, target * weights[:, None], rcond=None)
    return np.vstack([solution.T, [0.0, 0.0, 1.0]])


def _errors(matrix: Matrix, source: Matrix, target: Matrix) -> Matrix:
    """Distance (pixels) between where `matrix` maps each source point and its target."""
    if len(source) == 0:
        return np.zeros(0)
    mapped = cv2.perspectiveTransform(source.reshape(-1, 1, 2).astype(np.float64), matrix)
    return np.asarray(np.hypot(*(mapped.reshape(-1, 2) - target).T), dtype=np.float64)


def _inverse_points(matrix: Matrix, points: Matrix) -> Matrix:
    """Points of the aligned page taken back to the scan through `matrix`."""
    back = cv2.perspectiveTransform(points.reshape(-1, 1, 2), np.linalg.inv(matrix))
    return np.asarray(back.reshape(-1, 2), dtype=np.float64)


def align_page(
    upright: UprightPage,
    page: PageGeometry,
    dpi: float = 300,
    *,
    code_measured: bool = True,
    max_residual: float = MAX_RESIDUAL_MM,
) -> AlignedPage:
    """Find the registration marks and warp the page onto the template at `dpi`.

    The QR code gives a first estimate of where each mark is (scale, shift and tilt); each
    solid square is then searched near its estimate, where the template (hence the layout
    version) puts it. With four squares, the perspective transform from their centres
    corrects skew, scale and slight perspective. With three (skew and shift put a corner
    out of the scan: a square touching the scan's edge is cut, never used), an affine map
    is fitted on them, the code's corners and the corners of the printed answer boxes.

    Every fit is then checked against all of these points: when one is further than
    `max_residual` mm from where the fit puts it, the zones would be read off their boxes
    and the page is refused (MisalignedPage).

    Args:
        upright: the page set upright by its code.
        page: the template page.
        dpi: the aligned resolution.
        code_measured: whether the code's corners were found on the scan (False when the
            caller only assumes where the code is: they are then no evidence).
        max_residual: the largest disagreement accepted, in millimetres on the page.

    Raises:
        MarksNotFound: fewer than three registration marks where the code says.
        MisalignedPage: the marks, the code and the box grid do not agree on one alignment.
    """
    similarity = code_similarity(page, upright.code)
    scale = math.sqrt(abs(np.linalg.det(similarity[:, :2])))
    side = page.mark_size * scale
    template = _template_points(page, list(page.marks))
    predicted = cv2.transform(template.reshape(-1, 1, 2), similarity).reshape(-1, 2)
    found: dict[int, tuple[Point, float, float]] = {}
    for index, centre in enumerate(predicted):
        centre_point = (float(centre[0]), float(centre[1]))
        mark = _find_mark(upright.image, centre_point, side, 6 * MM * scale)
        if mark is not None:
            found[index] = mark
    needed = min(MIN_MARKS, len(page.marks))
    if len(found) < needed:
        missing = ", ".join(str(i + 1) for i in range(len(page.marks)) if i not in found)
        raise MarksNotFound(
            f"only {len(found)} of the {len(page.marks)} registration marks found (missing: "
            f"{missing}); at least {needed} are needed"
        )
    to_pixels = dpi / 72
    indices = sorted(found)
    mark_source = np.array([found[i][0] for i in indices], dtype=np.float64)
    mark_target = template[indices].astype(np.float64) * to_pixels
    if code_measured:
        code_source = np.array(upright.code.corners, dtype=np.float64)
        code_target = _code_template(page).astype(np.float64) * to_pixels
    else:
        code_source = code_target = np.zeros((0, 2), dtype=np.float64)
    if len(found) == 4:
        matrix = cv2.getPerspectiveTransform(
            mark_source.astype(np.float32), mark_target.astype(np.float32)
        ).astype(np.float64)
    else:
        weights = np.array([MARK_WEIGHT] * len(indices) + [1.0] * len(code_source))
        matrix = _affine(
            np.vstack([mark_source, code_source]), np.vstack([mark_target, code_target]), weights
        )
    black = float(np.median([found[i][1] for i in indices]))
    paper = float(np.median([found[i][2] for i in indices]))
    aligned = AlignedPage(upright.image, matrix, dpi, page, black, paper, len(found))
    grid = measure_grid(aligned.region, page, dpi, line_level(black, paper))
    grid_target = np.array([p.template for p in grid], dtype=np.float64).reshape(-1, 2)
    grid_source = (
        _inverse_points(matrix, np.array([p.measured for p in grid], dtype=np.float64))
        if grid
        else np.zeros((0, 2))
    )
    if len(found) < 4:
        # The box corners measured with the first fit are points of the final one.
        weights = np.array(
            [MARK_WEIGHT] * len(indices) + [1.0] * (len(code_source) + len(grid_source))
        )
        matrix = _affine(
            np.vstack([mark_source, code_source, grid_source]),
            np.vstack([mark_target, code_target, grid_target]),
            weights,
        )
        boxes = set(grid_rects(page))
        if boxes and len(grid) < GRID_SHARE * 4 * len(boxes):
            raise MisalignedPage(
                f"only {len(grid)} of the {4 * len(boxes)} printed box corners are where "
                f"{len(found)} registration marks put them"
            )
    marks_error = _errors(matrix, mark_source, mark_target)
    code_error = _errors(matrix, code_source, code_target)
    grid_error = _errors(matrix, grid_source, grid_target)
    # A stroke of handwriting may pass for a box edge: the grid counts by its 90th percentile.
    worst = max(
        float(marks_error.max(initial=0.0)),
        float(code_error.max(initial=0.0)),
        float(np.percentile(grid_error, 90)) if grid_error.size else 0.0,
    )
    residual = worst / to_pixels / MM
    if residual > max_residual:
        raise MisalignedPage(
            f"the registration marks, the code and the printed boxes disagree by "
            f"{residual:.1f} mm (at most {max_residual:g} mm)"
        )
    corners = 4 * len({z.rect for z in page.zones})
    share = len(grid) / corners if corners else 1.0
    return replace(aligned, matrix=matrix, residual=residual, boxes=share)
