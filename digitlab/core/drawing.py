"""Digits drawn as a user would draw them: thick round-capped pen strokes.

Used to test preprocessing and to measure how well a trained network reads
drawn digits (rather than MNIST's own scans), and by UI tests that replay
the strokes as mouse moves on the canvas.

Coordinates are ``(x, y)`` with y pointing down, as on screen. Strokes in
:data:`DIGIT_STROKES` are in unit coordinates: the digit fills the square
``[0, 1] x [0, 1]`` in height and is narrower than it is tall, as
handwriting is. :func:`place_strokes` maps them onto a canvas, and
:func:`draw_strokes` rasterises pixel-coordinate strokes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "DIGIT_STROKES",
    "draw_strokes",
    "place_strokes",
    "transform_strokes",
    "draw_digit",
    "random_drawn_digits",
]

Point = tuple[float, float]
Stroke = list[Point]


def draw_strokes(strokes: Iterable[Sequence[Point]], size: int = 280, width: float = 20) -> np.ndarray:
    """Rasterise pen strokes as white ink on a black canvas.

    Parameters
    ----------
    strokes : iterable of sequences of (x, y)
        Polylines in pixel coordinates (pixel column c spans [c, c+1)). A
        stroke of one point is a dot.
    size : int, optional
        Side of the square canvas, in pixels.
    width : float, optional
        Pen diameter, in pixels. Ends and joints are round.

    Returns
    -------
    numpy.ndarray
        float32 array (size, size) in [0, 1]; edges are anti-aliased.
    """
    canvas = np.zeros((size, size), dtype=np.float32)
    radius = width / 2
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(points) == 1:
            points = np.vstack([points, points])
        for start, end in zip(points[:-1], points[1:]):
            _stamp_segment(canvas, start, end, radius)
    return canvas


def _stamp_segment(canvas: np.ndarray, start: np.ndarray, end: np.ndarray, radius: float) -> None:
    """Ink every pixel within ``radius`` of the segment, anti-aliased."""
    size = canvas.shape[0]
    reach = radius + 1
    left = max(int(np.floor(min(start[0], end[0]) - reach)), 0)
    right = min(int(np.ceil(max(start[0], end[0]) + reach)), size)
    top = max(int(np.floor(min(start[1], end[1]) - reach)), 0)
    bottom = min(int(np.ceil(max(start[1], end[1]) + reach)), size)
    if left >= right or top >= bottom:
        return
    xs = np.arange(left, right) + 0.5
    ys = (np.arange(top, bottom) + 0.5)[:, None]
    direction = end - start
    length_sq = float(direction @ direction)
    if length_sq == 0.0:
        along = 0.0
    else:
        along = ((xs - start[0]) * direction[0] + (ys - start[1]) * direction[1]) / length_sq
        along = np.clip(along, 0.0, 1.0)
    nearest_x = start[0] + along * direction[0]
    nearest_y = start[1] + along * direction[1]
    distance = np.hypot(xs - nearest_x, ys - nearest_y)
    # A one-pixel ramp across the pen's edge approximates area coverage.
    coverage = np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)
    region = canvas[top:bottom, left:right]
    np.maximum(region, coverage, out=region)


def place_strokes(
    strokes: Iterable[Sequence[Point]], left: float, top: float, height: float
) -> list[Stroke]:
    """Map unit-coordinate strokes onto a canvas.

    Parameters
    ----------
    strokes : iterable of sequences of (x, y)
        Strokes in unit coordinates, like one variant of :data:`DIGIT_STROKES`.
    left, top : float
        Canvas position of the unit square's top-left corner, in pixels.
    height : float
        Side of the unit square on the canvas, in pixels (both axes scale
        alike, so shapes keep their proportions).

    Returns
    -------
    list of list of (float, float)
        The strokes in pixel coordinates.
    """
    return [[(left + x * height, top + y * height) for x, y in stroke] for stroke in strokes]


def transform_strokes(
    strokes: Iterable[Sequence[Point]],
    rotation_deg: float = 0.0,
    shear: float = 0.0,
    x_scale: float = 1.0,
) -> list[Stroke]:
    """Slant, turn or widen unit-coordinate strokes about the centre (0.5, 0.5).

    Parameters
    ----------
    strokes : iterable of sequences of (x, y)
        Strokes in unit coordinates.
    rotation_deg : float, optional
        Clockwise rotation on screen, in degrees.
    shear : float, optional
        Italic slant: positive leans the top to the right by ``shear`` times
        the height.
    x_scale : float, optional
        Horizontal stretch (below 1 makes the digit narrower).

    Returns
    -------
    list of list of (float, float)
        The transformed strokes, still about the unit square.
    """
    angle = np.deg2rad(rotation_deg)
    cos, sin = float(np.cos(angle)), float(np.sin(angle))
    result = []
    for stroke in strokes:
        moved = []
        for x, y in stroke:
            dx, dy = (x - 0.5) * x_scale, y - 0.5
            dx -= shear * dy
            moved.append((0.5 + cos * dx - sin * dy, 0.5 + sin * dx + cos * dy))
        result.append(moved)
    return result


def draw_digit(
    digit: int,
    variant: int = 0,
    size: int = 280,
    width: float = 20,
    box: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Draw one variant of a digit from :data:`DIGIT_STROKES`.

    Parameters
    ----------
    digit : int
        0-9.
    variant : int, optional
        Index into ``DIGIT_STROKES[digit]``.
    size : int, optional
        Side of the square canvas, in pixels.
    width : float, optional
        Pen diameter, in pixels.
    box : (left, top, height), optional
        Where the unit square goes on the canvas, in pixels; by default a
        centred square 70 % of the canvas high.

    Returns
    -------
    numpy.ndarray
        float32 array (size, size) in [0, 1], white ink on black.
    """
    if box is None:
        height = 0.7 * size
        box = ((size - height) / 2, (size - height) / 2, height)
    return draw_strokes(place_strokes(DIGIT_STROKES[digit][variant], *box), size, width)


def random_drawn_digits(
    rng: np.random.Generator, count: int, size: int = 280
) -> tuple[np.ndarray, np.ndarray]:
    """Draw digits with the variety of real users' drawings.

    Each digit is a random variant of a random class, slanted (shear
    -0.3..0.3), turned (+/- 8 degrees), narrowed or widened (0.6-1.3),
    30-85 % of the canvas high, anywhere on the canvas that keeps it whole,
    with a pen 18-28 pixels wide.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same drawings.
    count : int
        How many digits to draw.
    size : int, optional
        Side of the square canvas, in pixels.

    Returns
    -------
    images : numpy.ndarray
        float32 array (count, size, size) in [0, 1], white ink on black.
    labels : numpy.ndarray
        uint8 array (count,) of the digits drawn.
    """
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    images = np.empty((count, size, size), dtype=np.float32)
    for index, digit in enumerate(labels):
        variants = DIGIT_STROKES[int(digit)]
        strokes = variants[int(rng.integers(len(variants)))]
        strokes = transform_strokes(
            strokes,
            rotation_deg=rng.uniform(-8, 8),
            shear=rng.uniform(-0.3, 0.3),
            x_scale=rng.uniform(0.6, 1.3),
        )
        width = rng.uniform(18, 28)
        height = rng.uniform(0.30, 0.85) * size
        images[index] = draw_strokes(_fit_on_canvas(strokes, rng, size, height, width), size, width)
    return images, labels


def _fit_on_canvas(
    strokes: list[Stroke], rng: np.random.Generator, size: int, height: float, width: float
) -> list[Stroke]:
    """Place strokes at a random spot where the whole digit, pen included, shows."""
    points = np.array([point for stroke in strokes for point in stroke])
    low, high = points.min(axis=0), points.max(axis=0)
    # Transformed strokes may overhang the unit square; shrink to fit.
    span = float(max(high - low)) * height + width
    if span > size:
        height *= (size - width) / (span - width)
    margin = width / 2 + 1
    left_range = (margin - low[0] * height, size - margin - high[0] * height)
    top_range = (margin - low[1] * height, size - margin - high[1] * height)
    left = rng.uniform(*sorted(left_range))
    top = rng.uniform(*sorted(top_range))
    return place_strokes(strokes, left, top, height)


# --- The digit shapes -------------------------------------------------------
# Built from three kinds of piece, joined end to end into strokes: straight
# lines (corners stay sharp), smooth curves through control points, and
# elliptic arcs. Angles are in degrees, 0 pointing right and 90 down, so
# decreasing angles run anticlockwise on screen.


def _line(*points: Point) -> Stroke:
    return [(float(x), float(y)) for x, y in points]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    steps = max(int(abs(end - start) / 8), 2) + 1
    angles = np.deg2rad(np.linspace(start, end, steps))
    return [(cx + rx * float(np.cos(a)), cy + ry * float(np.sin(a))) for a in angles]


def _smooth(*points: Point, samples: int = 8) -> Stroke:
    """A Catmull-Rom spline through the points (it passes through each one)."""
    p = np.asarray(points, dtype=np.float64)
    padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    curve = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        curve.extend(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    curve.append(p[-1])
    return [(float(x), float(y)) for x, y in curve]


def _join(*pieces: Stroke) -> Stroke:
    """One stroke from pieces that each start where the previous one ended."""
    stroke = list(pieces[0])
    for piece in pieces[1:]:
        stroke.extend(piece[1:])
    return stroke


def _figure_eight(lower_bulge: float) -> Stroke:
    """One-stroke 8: down through the waist, round the bottom, back up."""
    t = np.linspace(-0.15, 2 * np.pi + 0.25, 60)
    # The lower loop is usually the bigger one.
    half_width = 0.22 + lower_bulge * (1 - np.cos(t)) / 2
    x = 0.5 + half_width * np.sin(2 * t) * 1.15
    y = 0.5 - 0.5 * np.cos(t)
    return [(float(a), float(b)) for a, b in zip(x, y)]


def _slanted(strokes: list[Stroke], shear: float) -> list[Stroke]:
    return transform_strokes(strokes, shear=shear)


DIGIT_STROKES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.3, 0.48, -95, -470)],
        _slanted([_arc(0.5, 0.5, 0.22, 0.48, -80, -450)], 0.25),
    ],
    1: [
        [_line((0.54, 0.0), (0.46, 1.0))],
        [_line((0.3, 0.22), (0.56, 0.0), (0.5, 1.0))],
        [_line((0.32, 0.2), (0.55, 0.0), (0.52, 1.0)), _line((0.3, 1.0), (0.74, 1.0))],
    ],
    2: [
        [
            _join(
                _smooth((0.2, 0.22), (0.42, 0.03), (0.68, 0.06), (0.76, 0.3), (0.55, 0.6), (0.18, 0.98)),
                _line((0.18, 0.98), (0.85, 0.96)),
            )
        ],
        [
            _smooth(
                (0.22, 0.2), (0.45, 0.02), (0.72, 0.1), (0.7, 0.38), (0.42, 0.72), (0.2, 0.93),
                (0.28, 1.0), (0.4, 0.88), (0.52, 0.9), (0.7, 0.98), (0.88, 0.94),
            )
        ],
    ],
    3: [
        [
            _join(
                _smooth((0.2, 0.15), (0.45, 0.0), (0.72, 0.1), (0.72, 0.32), (0.42, 0.47)),
                _smooth((0.42, 0.47), (0.76, 0.6), (0.76, 0.86), (0.5, 1.0), (0.2, 0.88)),
            )
        ],
        [
            _join(
                _line((0.18, 0.02), (0.78, 0.02), (0.45, 0.42)),
                _smooth((0.45, 0.42), (0.75, 0.55), (0.78, 0.82), (0.5, 1.0), (0.2, 0.9)),
            )
        ],
    ],
    4: [
        [_line((0.45, 0.0), (0.15, 0.62), (0.85, 0.62)), _line((0.66, 0.25), (0.64, 1.0))],
        [_line((0.6, 0.0), (0.12, 0.66), (0.88, 0.66)), _line((0.62, 0.0), (0.62, 1.0))],
        [_line((0.22, 0.0), (0.2, 0.55), (0.82, 0.55)), _line((0.76, 0.0), (0.72, 1.0))],
    ],
    5: [
        [
            _join(
                _line((0.3, 0.03), (0.26, 0.45)),
                _smooth((0.26, 0.45), (0.52, 0.37), (0.76, 0.5), (0.77, 0.77), (0.52, 0.98), (0.18, 0.9)),
            ),
            _line((0.3, 0.03), (0.8, 0.01)),
        ],
        [
            _join(
                _line((0.82, 0.02), (0.3, 0.03), (0.24, 0.42)),
                _smooth((0.24, 0.42), (0.5, 0.4), (0.74, 0.55), (0.72, 0.82), (0.48, 0.98), (0.2, 0.92)),
            )
        ],
    ],
    6: [
        [
            _smooth(
                (0.7, 0.0), (0.45, 0.15), (0.28, 0.42), (0.24, 0.72), (0.38, 0.97), (0.62, 0.97),
                (0.76, 0.78), (0.64, 0.56), (0.42, 0.53), (0.26, 0.66),
            )
        ],
        _slanted(
            [
                _smooth(
                    (0.62, 0.0), (0.38, 0.35), (0.28, 0.7), (0.38, 0.96), (0.6, 0.96), (0.7, 0.75),
                    (0.55, 0.58), (0.3, 0.68),
                )
            ],
            0.2,
        ),
    ],
    7: [
        [_line((0.15, 0.03), (0.85, 0.03), (0.42, 1.0))],
        [_line((0.15, 0.03), (0.85, 0.03), (0.45, 1.0)), _line((0.38, 0.52), (0.82, 0.5))],
        [
            _join(
                _line((0.15, 0.08), (0.86, 0.03)),
                _smooth((0.86, 0.03), (0.62, 0.38), (0.5, 0.7), (0.46, 1.0)),
            )
        ],
    ],
    8: [
        [_figure_eight(0.06)],
        [_arc(0.5, 0.24, 0.22, 0.24, -90, -450), _arc(0.5, 0.73, 0.27, 0.27, -90, 270)],
    ],
    9: [
        [_join(_arc(0.47, 0.27, 0.27, 0.26, -10, -360), _line((0.74, 0.27), (0.7, 1.0)))],
        [_join(_arc(0.47, 0.27, 0.27, 0.26, -10, -360), _smooth((0.74, 0.27), (0.72, 0.65), (0.58, 1.0)))],
        _slanted(
            [_join(_arc(0.5, 0.25, 0.24, 0.25, -10, -360), _line((0.74, 0.25), (0.62, 1.0)))], 0.15
        ),
    ],
}

# More styles, after the first variant of each digit (which tests and the
# window's examples use): the hands MNIST's American writers rarely showed and
# users of the window often do. Narrow and wide forms come from
# random_drawn_digits' x_scale.
DIGIT_STROKES[1] += [
    # Serif 1: a long flag and a foot, as taught in much of Europe.
    [_line((0.22, 0.32), (0.58, 0.0), (0.56, 1.0)), _line((0.36, 1.0), (0.76, 1.0))],
    # A flag that is almost a hook, no foot.
    [_join(_smooth((0.3, 0.3), (0.42, 0.12), (0.56, 0.0)), _line((0.56, 0.0), (0.54, 1.0)))],
]
DIGIT_STROKES[2] += [
    # Curly 2: a loop where the diagonal meets the base.
    [
        _smooth(
            (0.2, 0.25), (0.45, 0.02), (0.75, 0.12), (0.68, 0.42), (0.36, 0.78), (0.22, 0.94),
            (0.34, 0.99), (0.36, 0.82), (0.26, 0.86), (0.4, 0.97), (0.86, 0.95),
        )
    ],
    # Angular 2, like a Z with a rounded top.
    [
        _join(
            _smooth((0.18, 0.2), (0.45, 0.0), (0.78, 0.12), (0.74, 0.35)),
            _line((0.74, 0.35), (0.15, 1.0), (0.85, 1.0)),
        )
    ],
]
DIGIT_STROKES[4] += [
    # Closed 4 in one stroke: down the diagonal, across, then the stem from the top.
    [_line((0.62, 0.0), (0.1, 0.7), (0.9, 0.7)), _line((0.62, 0.0), (0.6, 1.0))],
    # Open 4 whose bar runs through the stem.
    [_line((0.25, 0.0), (0.18, 0.6), (0.92, 0.6)), _line((0.68, 0.15), (0.7, 1.0))],
]
DIGIT_STROKES[7] += [
    # Crossed 7 with a curved stem and a serif at the start of its bar.
    [
        _join(_line((0.14, 0.2), (0.16, 0.04), (0.86, 0.04)), _smooth((0.86, 0.04), (0.6, 0.45), (0.5, 1.0))),
        _line((0.35, 0.5), (0.8, 0.47)),
    ],
]
DIGIT_STROKES[9] += [
    # Round loop, straight stem from its right side.
    [_arc(0.45, 0.28, 0.3, 0.28, 0, -360), _line((0.75, 0.28), (0.75, 1.0))],
]
DIGIT_STROKES[0] += [
    # Narrow 0 whose end overshoots its start.
    [_arc(0.5, 0.5, 0.2, 0.49, -70, -460)],
]
DIGIT_STROKES[6] += [
    # A 6 with a straight back and a small loop.
    [_join(_line((0.66, 0.0), (0.3, 0.62)), _arc(0.5, 0.78, 0.22, 0.22, 200, -160))],
]
DIGIT_STROKES[3] += [
    # A round 3 with a small upper bowl.
    [
        _join(
            _smooth((0.25, 0.1), (0.5, 0.0), (0.66, 0.15), (0.5, 0.38)),
            _smooth((0.5, 0.38), (0.8, 0.6), (0.7, 0.92), (0.45, 1.0), (0.2, 0.9)),
        )
    ],
]
"""Handwritten digits as pen strokes: ``DIGIT_STROKES[d]`` is a list of
variants; each variant is a list of strokes, each stroke a list of (x, y)
points in unit coordinates. The styles:

- 0: round, slanted, narrow with an overshoot;
- 1: a plain bar, with a flag, with flag and foot, a serif 1 with long flag
  and foot, a hooked flag;
- 2: plain, with a bottom loop, curly (a loop where diagonal meets base),
  angular (Z-like);
- 3: round, flat-topped, with a small upper bowl;
- 4: closed (two ways, one a single stroke), open, open with the bar through the stem;
- 5: with a separate top bar, in one stroke;
- 6: curved back, slanted, straight back;
- 7: plain, crossed, curved stem, crossed with a serif;
- 8: one stroke, two stacked loops;
- 9: straight stem, curved stem, slanted, round loop with a stem at its side.
"""
