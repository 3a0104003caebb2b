"""A lesson's figure, described without Qt: panels of lines, bars, histograms and images.

A lesson's ``figure(result)`` returns a :class:`Figure`; ``digitlab.plotting``
draws it to a PNG (``digitlab lesson NAME --plot F.png``). Keeping the
description plain data means the core decides *what* is shown, and tests can
check it without a display.

Coordinates are data coordinates. A panel's axes span ``xlim`` and ``ylim``
when given, otherwise everything the panel holds (with a margin). Colours
are ``"#rrggbb"`` strings, or None for the next colour of
:data:`PALETTE`.

Examples
--------
Two histograms side by side in one panel::

    Figure("Noise versus digits", [
        Panel("Top output", xlabel="top output", ylabel="images",
              histograms=[Histogram.of(noise_top, "noise", bins=20, range=(0, 1)),
                          Histogram.of(digit_top, "digits", bins=20, range=(0, 1))],
              vlines=[VLine(0.5, "threshold")])])

A heat map with a trail over it::

    Panel("Cost", image=Image(f, extent=(-3, 3, -3, 3), origin="lower"),
          lines=[Line("ball", xs, ys, points=True)])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

#: Colours given out in turn to items without one (colour-blind safe, Okabe-Ito).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000")


def _floats(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


@dataclass
class Line:
    """A curve through the points ``(x[i], y[i])``.

    Attributes
    ----------
    label : str
        Legend entry ("" for none).
    x, y : array_like
        Equal-length coordinates. Non-finite points break the line.
    color : str, optional
        ``"#rrggbb"``; None takes the next palette colour.
    width : float
        Pen width in pixels.
    points : bool
        Also mark each point with a dot (a trail of steps).
    dashed : bool
        Draw dashed.
    """

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: Optional[str] = None
    width: float = 2.0
    points: bool = False
    dashed: bool = False

    def __post_init__(self) -> None:
        self.x = _floats(self.x, "x")
        self.y = _floats(self.y, "y")
        if self.x.shape != self.y.shape:
            raise ValueError(f"x and y differ in length: {self.x.size} and {self.y.size}")


@dataclass
class Bars:
    """Bars of ``heights`` centred at ``x``.

    Attributes
    ----------
    label : str
        Legend entry.
    x, heights : array_like
        Bar centres and heights, equal length.
    width : float
        Bar width in x units.
    color : str, optional
        Fill colour.
    tick_labels : sequence of str, optional
        Labels under the bars instead of numbers on the x axis ("0".."9", "none").
    """

    label: str
    x: Sequence[float]
    heights: Sequence[float]
    width: float = 0.8
    color: Optional[str] = None
    tick_labels: Optional[Sequence[str]] = None

    def __post_init__(self) -> None:
        self.x = _floats(self.x, "x")
        self.heights = _floats(self.heights, "heights")
        if self.x.shape != self.heights.shape:
            raise ValueError(f"x and heights differ in length: {self.x.size} and {self.heights.size}")
        if self.tick_labels is not None:
            self.tick_labels = [str(t) for t in self.tick_labels]
            if len(self.tick_labels) != self.x.size:
                raise ValueError("tick_labels needs one label per bar")


@dataclass
class Histogram:
    """Counts of values in bins: ``counts[i]`` values fell in ``[edges[i], edges[i+1])``.

    Drawn as a step outline with a light fill, so two histograms in one
    panel stay readable. Make one from raw values with :meth:`of`.
    """

    label: str
    edges: Sequence[float]
    counts: Sequence[float]
    color: Optional[str] = None

    def __post_init__(self) -> None:
        self.edges = _floats(self.edges, "edges")
        self.counts = _floats(self.counts, "counts")
        if self.edges.size != self.counts.size + 1:
            raise ValueError(f"need one more edge than counts, got {self.edges.size} and {self.counts.size}")

    @classmethod
    def of(cls, values, label: str, bins: int = 20, range: tuple[float, float] | None = None,
           color: Optional[str] = None) -> "Histogram":
        """The histogram of ``values`` (``numpy.histogram`` with ``bins`` and ``range``)."""
        counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins, range=range)
        return cls(label, edges, counts, color)


@dataclass
class Image:
    """A 2-D array shown as a picture, e.g. a weight image or a cost surface.

    Attributes
    ----------
    data : array_like
        Shape ``(rows, columns)``.
    extent : (x0, x1, y0, y1), optional
        Where the picture lies in data coordinates; default the pixel grid
        ``(0, columns, 0, rows)``.
    origin : {"upper", "lower"}
        Whether row 0 is drawn at the top (a picture) or at the bottom
        (a function sampled with y increasing, ``f[y, x]``).
    diverging : bool
        Blue for positive, red for negative, white at 0, with limits
        symmetric around 0 (weights); otherwise a dark-to-light scale.
    vmin, vmax : float, optional
        Colour limits; default from the data (symmetric when diverging).
    """

    data: np.ndarray
    extent: Optional[tuple[float, float, float, float]] = None
    origin: str = "upper"
    diverging: bool = False
    vmin: Optional[float] = None
    vmax: Optional[float] = None

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=float)
        if self.data.ndim != 2 or 0 in self.data.shape:
            raise ValueError(f"image data must be a non-empty 2-D array, got shape {self.data.shape}")
        if self.origin not in ("upper", "lower"):
            raise ValueError(f"origin must be 'upper' or 'lower', got {self.origin!r}")
        if self.extent is None:
            rows, columns = self.data.shape
            self.extent = (0.0, float(columns), 0.0, float(rows))
        self.extent = tuple(float(v) for v in self.extent)
        if len(self.extent) != 4:
            raise ValueError("extent is (x0, x1, y0, y1)")

    def limits(self) -> tuple[float, float]:
        """The colour limits ``(low, high)`` actually used."""
        finite = self.data[np.isfinite(self.data)]
        if self.diverging:
            bound = float(np.max(np.abs(finite))) if finite.size else 1.0
            bound = max(bound, 1e-12)
            low, high = -bound, bound
        else:
            low = float(finite.min()) if finite.size else 0.0
            high = float(finite.max()) if finite.size else 1.0
        low = low if self.vmin is None else float(self.vmin)
        high = high if self.vmax is None else float(self.vmax)
        if high <= low:
            high = low + 1.0
        return low, high


@dataclass
class VLine:
    """A vertical marker at ``x``, e.g. a threshold, with an optional label."""

    x: float
    label: str = ""
    color: str = "#555555"
    dashed: bool = True


@dataclass
class Panel:
    """One plot: axes with a title and labels, and what is drawn in them.

    Draw order: image, histograms, bars, lines, vertical markers; notes are
    lines of text under the plot. ``xlim``/``ylim`` fix the axes.
    ``equal_aspect`` keeps one x unit as long as one y unit (surfaces).
    ``axes=False`` hides the axes (a weight image in a grid).
    """

    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    lines: list[Line] = field(default_factory=list)
    bars: list[Bars] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    image: Optional[Image] = None
    vlines: list[VLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    xlim: Optional[tuple[float, float]] = None
    ylim: Optional[tuple[float, float]] = None
    legend: bool = True
    equal_aspect: bool = False
    axes: bool = True

    def data_limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((x0, x1), (y0, y1))``: ``xlim``/``ylim``, or the extent of the contents."""
        xs: list[float] = []
        ys: list[float] = []
        if self.image is not None:
            x0, x1, y0, y1 = self.image.extent
            xs += [x0, x1]
            ys += [y0, y1]
        for h in self.histograms:
            xs += [h.edges[0], h.edges[-1]]
            ys += [0.0, float(np.max(h.counts, initial=0.0))]
        for b in self.bars:
            xs += [float(np.min(b.x)) - b.width / 2, float(np.max(b.x)) + b.width / 2] if b.x.size else []
            ys += [0.0, *b.heights.tolist()]
        for line in self.lines:
            keep = np.isfinite(line.x) & np.isfinite(line.y)
            xs += line.x[keep].tolist()
            ys += line.y[keep].tolist()
        xs += [v.x for v in self.vlines]
        xspan = _span(xs, self.xlim, pad=not self.histograms and self.image is None)
        yspan = _span(ys, self.ylim, pad=self.image is None)
        if self.ylim is None and (self.bars or self.histograms) and min(ys, default=0.0) >= 0:
            # Counts and heights stand on 0: no margin below it, some headroom above.
            top = max(ys, default=0.0)
            yspan = (0.0, 1.08 * top if top > 0 else 1.0)
        return xspan, yspan


def _span(values: list[float], fixed, pad: bool) -> tuple[float, float]:
    if fixed is not None:
        low, high = float(fixed[0]), float(fixed[1])
    else:
        finite = [v for v in values if np.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if pad:
            margin = 0.05 * (high - low)
            low, high = low - margin, high + margin
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return low, high


@dataclass
class Figure:
    """A whole picture: a title and panels laid out in a grid.

    Attributes
    ----------
    title : str
        Shown at the top.
    panels : list of Panel
        Filled row by row.
    columns : int, optional
        Panels per row; default all in one row up to 3, then a near-square grid.
    notes : list of str
        Lines of text under all the panels (the result in words).
    width, height : int, optional
        Size in pixels; default from the grid.
    """

    title: str
    panels: list[Panel] = field(default_factory=list)
    columns: Optional[int] = None
    notes: list[str] = field(default_factory=list)
    width: Optional[int] = None
    height: Optional[int] = None

    def grid(self) -> tuple[int, int]:
        """``(rows, columns)`` of the panel layout."""
        n = max(1, len(self.panels))
        columns = self.columns or (n if n <= 3 else int(np.ceil(np.sqrt(n))))
        columns = max(1, min(columns, n))
        return int(np.ceil(n / columns)), columns
