"""Stand-ins for real handwriting that share nothing with the training pipeline.

The shipped networks learn from MNIST digits, their augmented copies and
digits drawn by ``digitlab.core.drawing`` (polylines and Catmull-Rom curves,
an even round pen, a black canvas). Scoring them on more of the same would
flatter them. The digits here are made in other ways:

- **fonts**: the machine's DejaVu Sans, Serif and Mono, book, bold, oblique
  and condensed, stretched, turned and sized at random, rendered by Qt's
  QPainter (so a QGuiApplication must exist);
- **pen**: an independent stroke model: cubic Bezier strokes through jittered
  control points, drawn with a pen whose width swells and fades with
  pressure along each stroke; shapes of its own (curly and plain 2s, open
  and closed 4s, 1s with and without flag and foot, crossed 7s, looped 8s);

and then put on paper in two ways, ink dark or light (either polarity):

- **photographed**: grey, unevenly lit paper (a gradient and a vignette),
  lens blur, a slight perspective tilt, sensor noise, JPEG-like 8x8 DCT
  quantisation;
- **scanned**: bright even paper, the ink thresholded to black and white,
  dust specks, and sometimes an inverted scan.

The digit goes anywhere on a larger sheet at 25-70 % of its height, and the
picture is read as a user's image is: ``digitlab.core.preprocess.prepare``.
"""

from __future__ import annotations

import numpy as np

from digitlab.core import preprocess

SHEET = 160  # side of the sheet a digit is written on, in pixels
FONT_FAMILIES = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono")


# --- fonts ------------------------------------------------------------------------------------


def font_digit(digit: int, rng: np.random.Generator, size: int = SHEET) -> np.ndarray:
    """A digit in a random machine font, as ink in [0, 1] (1 = ink) on a size x size sheet."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QTransform

    image = QImage(size, size, QImage.Format_Grayscale8)
    image.fill(0)
    font = QFont(FONT_FAMILIES[int(rng.integers(len(FONT_FAMILIES)))])
    height = rng.uniform(0.25, 0.7) * size
    font.setPixelSize(max(8, int(height * 1.3)))  # a digit's glyph is about 0.73 em tall
    font.setBold(bool(rng.random() < 0.35))
    font.setItalic(bool(rng.random() < 0.35))
    font.setStretch(int(rng.uniform(70, 125)))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    painter.setFont(font)
    painter.setPen(QColor(255, 255, 255))
    centre = QPointF(rng.uniform(0.35, 0.65) * size, rng.uniform(0.35, 0.65) * size)
    turn = QTransform().translate(centre.x(), centre.y()).rotate(rng.uniform(-10, 10))
    turn = turn.shear(rng.uniform(-0.15, 0.15), 0)
    painter.setTransform(turn)
    box = painter.boundingRect(-size, -size, 2 * size, 2 * size, Qt.AlignCenter, str(digit))
    painter.drawText(box, Qt.AlignCenter, str(digit))
    painter.end()
    bits = image.constBits()
    stride = image.bytesPerLine()
    array = np.frombuffer(bits, dtype=np.uint8, count=stride * size).reshape(size, stride)[:, :size]
    return array.astype(np.float32) / 255


# --- an independent pen ---------------------------------------------------------------------

# Each shape: strokes; each stroke: cubic Bezier segments, each 4 (x, y) control
# points in a unit box (y down), the segments of a stroke joined end to start.
def _C(*points):  # one cubic segment's four control points; short, for the table below
    return [tuple(p) for p in points]


PEN_SHAPES: dict[int, list[list[list[tuple]]]] = {
    0: [[[_C((.5, 0), (.1, 0), (.12, 1), (.5, 1)), _C((.5, 1), (.9, 1), (.88, 0), (.45, .04))]],
        [[_C((.55, .02), (.05, .1), (.2, 1.05), (.55, .97)), _C((.55, .97), (.95, .9), (.85, -.05), (.4, .08))]]],
    1: [[[_C((.5, 0), (.5, .35), (.48, .7), (.47, 1))]],
        [[_C((.28, .25), (.4, .15), (.5, .08), (.56, 0)), _C((.56, 0), (.55, .35), (.53, .7), (.52, 1))]],
        [[_C((.3, .2), (.42, .13), (.5, .06), (.55, 0)), _C((.55, 0), (.55, .4), (.53, .7), (.53, 1))],
         [_C((.3, 1), (.45, 1), (.6, 1), (.75, .99))]]],
    2: [[[_C((.15, .25), (.25, -.05), (.85, -.05), (.78, .3)), _C((.78, .3), (.7, .55), (.3, .75), (.12, 1)),
          _C((.12, 1), (.35, .97), (.65, .98), (.9, .97))]],
        [[_C((.18, .22), (.3, -.04), (.82, -.02), (.75, .32)), _C((.75, .32), (.65, .62), (.25, .75), (.2, .92)),
          _C((.2, .92), (.15, 1.05), (.4, 1.0), (.4, .88)), _C((.4, .88), (.45, .8), (.6, 1.0), (.9, .96))]]],
    3: [[[_C((.15, .12), (.45, -.08), (.9, .08), (.7, .35)), _C((.7, .35), (.6, .45), (.45, .47), (.4, .47)),
          _C((.4, .47), (.95, .5), (.9, 1.05), (.5, 1)), _C((.5, 1), (.3, .98), (.2, .9), (.15, .85))]],
        [[_C((.15, .03), (.4, .03), (.6, .03), (.82, .02)), _C((.82, .02), (.65, .2), (.5, .32), (.42, .42)),
          _C((.42, .42), (.95, .42), (.9, 1.05), (.45, 1)), _C((.45, 1), (.3, .99), (.2, .93), (.14, .85))]]],
    4: [[[_C((.5, 0), (.35, .25), (.22, .45), (.1, .66)), _C((.1, .66), (.4, .66), (.7, .65), (.92, .64))],
         [_C((.68, .3), (.67, .55), (.66, .8), (.65, 1))]],
        [[_C((.2, 0), (.18, .2), (.17, .4), (.18, .58)), _C((.18, .58), (.4, .58), (.65, .57), (.88, .55))],
         [_C((.75, .02), (.74, .35), (.72, .7), (.7, 1))]]],
    5: [[[_C((.3, .03), (.28, .18), (.26, .3), (.25, .45)), _C((.25, .45), (.6, .3), (.95, .6), (.72, .88)),
          _C((.72, .88), (.55, 1.05), (.25, 1), (.12, .88))], [_C((.3, .03), (.5, .03), (.65, .02), (.85, .02))]],
        [[_C((.85, 0), (.6, .02), (.4, .02), (.32, .03)), _C((.32, .03), (.3, .2), (.28, .35), (.26, .46)),
          _C((.26, .46), (.9, .3), (.95, 1.0), (.45, 1)), _C((.45, 1), (.3, 1), (.2, .95), (.14, .9))]]],
    6: [[[_C((.72, .02), (.35, .1), (.12, .5), (.2, .8)), _C((.2, .8), (.3, 1.05), (.8, 1.05), (.78, .75)),
          _C((.78, .75), (.75, .45), (.3, .45), (.2, .7))]]],
    7: [[[_C((.12, .04), (.4, .03), (.65, .03), (.88, .02)), _C((.88, .02), (.7, .3), (.5, .65), (.4, 1))]],
        [[_C((.12, .04), (.4, .03), (.65, .03), (.88, .02)), _C((.88, .02), (.7, .3), (.5, .65), (.4, 1))],
         [_C((.32, .52), (.5, .51), (.65, .5), (.82, .49))]],
        [[_C((.1, .1), (.3, .0), (.6, .08), (.9, .03)), _C((.9, .03), (.6, .35), (.55, .7), (.55, 1))]]],
    8: [[[_C((.75, .15), (.6, -.08), (.2, 0), (.3, .25)), _C((.3, .25), (.4, .45), (.85, .55), (.8, .8)),
          _C((.8, .8), (.75, 1.05), (.2, 1.05), (.2, .8)), _C((.2, .8), (.2, .55), (.7, .45), (.72, .25)),
          _C((.72, .25), (.74, .1), (.68, .05), (.6, .03))]]],
    9: [[[_C((.78, .25), (.7, -.05), (.2, -.05), (.22, .25)), _C((.22, .25), (.25, .55), (.75, .55), (.78, .25)),
          _C((.78, .25), (.77, .5), (.74, .75), (.7, 1))]],
        [[_C((.75, .2), (.6, -.05), (.15, .05), (.25, .32)), _C((.25, .32), (.35, .55), (.75, .45), (.76, .22)),
          _C((.76, .22), (.78, .6), (.65, .9), (.45, 1))]]],
}


def _bezier_points(segment, count: int) -> np.ndarray:
    p = np.asarray(segment, dtype=np.float64)
    t = np.linspace(0, 1, count)[:, None]
    return ((1 - t) ** 3) * p[0] + 3 * ((1 - t) ** 2) * t * p[1] + 3 * (1 - t) * t * t * p[2] + t**3 * p[3]


def pen_digit(digit: int, rng: np.random.Generator, size: int = SHEET) -> np.ndarray:
    """A digit written with the Bezier pen, as ink in [0, 1] on a size x size sheet."""
    shapes = PEN_SHAPES[digit]
    shape = shapes[int(rng.integers(len(shapes)))]
    height = rng.uniform(0.25, 0.7) * size
    slant, turn = rng.uniform(-0.35, 0.35), np.deg2rad(rng.uniform(-10, 10))
    aspect = np.exp(rng.uniform(np.log(0.55), np.log(1.3)))
    centre = rng.uniform(0.35, 0.65, size=2) * size
    pen = rng.uniform(0.04, 0.13) * height
    canvas = np.zeros((size, size), dtype=np.float32)
    for stroke in shape:
        points = []
        for segment in stroke:
            jittered = np.asarray(segment) + rng.normal(0, 0.03, size=(4, 2))
            if points:
                jittered[0] = points[-1][-1]  # segments of a stroke stay joined
            points.append(_bezier_points(jittered, 60))
        path = np.concatenate(points) - 0.5
        x = path[:, 0] * aspect - slant * path[:, 1]
        y = path[:, 1]
        xs = centre[0] + height * (np.cos(turn) * x - np.sin(turn) * y)
        ys = centre[1] + height * (np.sin(turn) * x + np.cos(turn) * y)
        # Pressure: the pen lands lightly, presses on, lifts at the end.
        along = np.linspace(0, 1, len(xs))
        radius = pen / 2 * (0.55 + 0.45 * np.sin(np.pi * along) ** 0.5) * rng.uniform(0.85, 1.15)
        _stamp(canvas, xs, ys, radius)
    return canvas


def _stamp(canvas: np.ndarray, xs, ys, radii) -> None:
    size = canvas.shape[0]
    for x, y, r in zip(xs, ys, radii):
        left, right = max(int(x - r - 1), 0), min(int(x + r + 2), size)
        top, bottom = max(int(y - r - 1), 0), min(int(y + r + 2), size)
        if left >= right or top >= bottom:
            continue
        gx = np.arange(left, right) + 0.5 - x
        gy = (np.arange(top, bottom) + 0.5 - y)[:, None]
        cover = np.clip(r + 0.5 - np.sqrt(gx * gx + gy * gy), 0, 1)
        region = canvas[top:bottom, left:right]
        np.maximum(region, cover, out=region)


# --- paper ----------------------------------------------------------------------------------


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    n = image.shape[0]
    pos = np.arange(n)
    kernel = np.exp(-0.5 * ((pos[:, None] - pos[None, :]) / sigma) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    return kernel @ image @ kernel.T


def _perspective(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slight tilt of the camera: each output pixel samples a projectively moved source."""
    n = image.shape[0]
    grid_y, grid_x = np.mgrid[0:n, 0:n].astype(np.float64) / n - 0.5
    px, py = rng.uniform(-0.25, 0.25, size=2)  # projective terms
    w = 1 + px * grid_x + py * grid_y
    sx = ((grid_x / w) + 0.5) * n
    sy = ((grid_y / w) + 0.5) * n
    x0 = np.clip(np.floor(sx).astype(int), 0, n - 2)
    y0 = np.clip(np.floor(sy).astype(int), 0, n - 2)
    fx, fy = np.clip(sx - x0, 0, 1), np.clip(sy - y0, 0, 1)
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _dct_matrix(n: int = 8) -> np.ndarray:
    k, i = np.mgrid[0:n, 0:n]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


def _jpeg_like(image: np.ndarray, quality_step: float) -> np.ndarray:
    """Quantise each 8x8 block's DCT coefficients, coarser for higher frequencies, as JPEG does."""
    n = image.shape[0] // 8 * 8
    blocks = image[:n, :n].reshape(n // 8, 8, n // 8, 8).transpose(0, 2, 1, 3)
    d = _dct_matrix()
    coeffs = d @ blocks @ d.T
    k = np.add.outer(np.arange(8), np.arange(8))
    step = quality_step * (1 + k)
    coeffs = np.round(coeffs / step) * step
    result = image.copy()
    result[:n, :n] = (d.T @ coeffs @ d).transpose(0, 2, 1, 3).reshape(n, n)
    return result


def photographed(ink: np.ndarray, rng: np.random.Generator, dark_ink: bool) -> np.ndarray:
    """Ink on grey, unevenly lit paper, seen by a camera; uint8 gray."""
    n = ink.shape[0]
    ink = _blur(ink, rng.uniform(0.4, 1.4))
    yy, xx = np.mgrid[0:n, 0:n] / n - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    gradient = np.cos(angle) * xx + np.sin(angle) * yy
    if dark_ink:
        paper = rng.uniform(0.45, 0.85) + rng.uniform(0.1, 0.35) * gradient - rng.uniform(0, 0.2) * (xx**2 + yy**2)
        ink_level = rng.uniform(0.05, 0.3)
    else:  # chalk on a board, white pen on dark paper
        paper = rng.uniform(0.1, 0.3) + rng.uniform(0.05, 0.15) * gradient
        ink_level = rng.uniform(0.7, 0.95)
    image = paper + ink * (ink_level - paper)
    image = _perspective(image, rng)
    image = image + rng.normal(0, rng.uniform(0.005, 0.03), image.shape)
    image = _jpeg_like(image, rng.uniform(0.005, 0.03))
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def scanned(ink: np.ndarray, rng: np.random.Generator, dark_ink: bool) -> np.ndarray:
    """Ink scanned in black and white on even paper, with dust; uint8 gray."""
    n = ink.shape[0]
    marks = _blur(ink, 0.6) > rng.uniform(0.3, 0.6)
    for _ in range(int(rng.integers(0, 25))):  # dust specks, 1-2 px
        y, x = rng.integers(0, n - 2, size=2)
        marks[y : y + int(rng.integers(1, 3)), x : x + int(rng.integers(1, 3))] = True
    image = np.where(marks, 0.0, 1.0) if dark_ink else np.where(marks, 1.0, 0.0)
    return np.rint(image * 255).astype(np.uint8)


def squeezed(ink: np.ndarray, aspect: float) -> np.ndarray:
    """The writing made ``aspect`` times as wide about its centre of mass: tall, narrow hands."""
    cols = np.arange(ink.shape[1], dtype=np.float64)
    centre = float(ink.sum(axis=0) @ cols) / float(ink.sum())
    source = centre + (cols - centre) / aspect
    return np.stack([np.interp(source, cols, row, left=0, right=0) for row in ink]).astype(np.float32)


# --- the sets -------------------------------------------------------------------------------


def handwriting_set(source: str, paper: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digits from ``source`` ("font" or "pen") on ``paper`` ("photo" or "scan"), prepared.

    Returns
    -------
    inputs : numpy.ndarray
        float32 (count, 784), as the network is fed a user's picture.
    labels : numpy.ndarray
        int (count,), the digits, 0-9 in turn.
    """
    rng = np.random.default_rng(seed)
    make = {"font": font_digit, "pen": pen_digit}[source]
    put = {"photo": photographed, "scan": scanned}[paper]
    labels = np.arange(count) % 10
    inputs = np.empty((count, 784), dtype=np.float32)
    for index, digit in enumerate(labels):
        picture = put(make(int(digit), rng), rng, dark_ink=bool(rng.random() < 0.75))
        inputs[index] = preprocess.prepare(picture).reshape(-1)
    return inputs, labels


def narrow_set(count: int, seed: int, aspect: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Pen digits squeezed to ``aspect`` of their width, on even paper, prepared (see handwriting_set)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    inputs = np.stack([preprocess.prepare(squeezed(pen_digit(int(d), rng), aspect)).reshape(-1) for d in labels])
    return inputs, labels


def accuracy(network, inputs: np.ndarray, labels: np.ndarray) -> float:
    """Share of ``inputs`` that ``network`` reads as ``labels``."""
    return float(np.mean(network.predict(inputs).argmax(axis=1) == labels))
