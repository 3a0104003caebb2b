"""The network as 3Blue1Brown draws it: columns of neurons lit by activation, joined by weighted edges.

The first column is the 28x28 input image itself (784 circles would be a grey
wall); each later column is one layer, its circles filled from the background
colour (off) to the text colour (fully on). Edges take the app's diverging
colours (style.py: red positive, blue negative, as in every weight image of
the window) with opacity proportional to ``|w|``, or, with the "contribution"
mode, to ``|w * a|``: what each connection adds to the next neuron's weighted
sum for the current input. The winning output is boxed; outputs are labelled
0-9 and "none" for an 11th.

Readable and fast at any size: at most :data:`MAX_NODES` neurons of a layer
are drawn (the layer's name says how many are shown), and each drawn neuron
gets only its :data:`INPUT_EDGES` strongest edges from the image and its
:data:`HIDDEN_EDGES` strongest from a hidden layer (all of them when the
layer is that small), fewer when a layer would get more than
:data:`EDGE_BUDGET`. Edges are painted in batches of one pen per sign and
opacity step (``QPainter.drawLines``), so a redraw is a few dozen calls.

Updates are coalesced: any number of ``inputChanged`` / ``networkChanged``
signals (drawing, training snapshots) within :data:`REFRESH_MS` give one
recomputation and one repaint; while drawing in weight mode only the
activations change, and the edges' batched lines are kept. Measured offscreen
on the shared, busy 2-core machine (median of 20, ``time.perf_counter``
around ``grab()``, which runs paintEvent; in brackets a new input: ``set_input``,
:meth:`NetworkDiagram.refresh` and ``grab()``), weight mode / contribution mode:

- 784-16-16-10 at the dock's 290x410: 5 ms (6 / 9 ms); at 900x560: 10 ms (11 / 13 ms);
- 784-128-64-10 at 290x410: 7-9 ms (8 / 14 ms); at 900x560: 11-16 ms (13 / 22 ms).

Antialiased *translucent* lines were the cost (about 40 ms for 576 edges), so
edges are drawn opaque, premixed with the background (see ``_paint_edges``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitlab.core.projections import activation_strength
from digitlab.ui import style
from digitlab.ui.session import ModelSession, output_labels

#: Most neurons drawn per layer; wider layers show their first MAX_NODES.
MAX_NODES = 64
#: Strongest edges drawn into each neuron of the first hidden layer, from the image's pixels.
INPUT_EDGES = 10
#: Strongest edges drawn into each neuron of a deeper layer (all when the layer before is smaller).
HIDDEN_EDGES = 16
#: Most edges drawn into one layer: wide layers get fewer per neuron (at least 2), so
#: 784-128-64-10 stays readable and as quick to draw as 784-16-16-10.
EDGE_BUDGET = 400
#: Opacity steps: edges are batched by sign and step, one pen each.
ALPHA_STEPS = 16
#: Coalescing delay of redraws after session signals (one frame).
REFRESH_MS = 16
EDGE_MODES = ("weight", "contribution")


@dataclass
class EdgeSet:
    """The drawn edges into one layer: ``sources[k] -> targets[k]`` with ``values[k]``.

    ``values`` are weights (mode "weight") or weight times source activation
    (mode "contribution"); ``rgba`` is each edge's drawn colour, its alpha
    proportional to ``|value|`` over the layer's largest.
    """

    sources: np.ndarray
    targets: np.ndarray
    values: np.ndarray
    rgba: np.ndarray


def _strongest(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest ``|values|`` of each row (all columns when k >= width)."""
    width = values.shape[1]
    if k >= width:
        return np.broadcast_to(np.arange(width), values.shape)
    return np.argpartition(np.abs(values), width - k, axis=1)[:, width - k:]


class NetworkDiagram(QWidget):
    """The session's network drawn as a diagram that follows its input and weights.

    Layers are numbered as in ``Network.forward``: 0 is the input, 1 the first
    hidden layer, ``len(sizes) - 1`` the output layer.

    Signals
    -------
    neuronClicked(int, int)
        ``(layer, index)`` of a clicked neuron (layer >= 1).
    refreshed()
        After each coalesced recomputation (one per burst of session signals).
    """

    neuronClicked = Signal(int, int)
    refreshed = Signal()

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._mode = "weight"
        self._selected: tuple[int, int] | None = None
        self._activations: list[np.ndarray] | None = None
        self._edges: list[EdgeSet] = []
        self._centres: list[np.ndarray] = []  # per layer >= 1: (shown, 2) pixel centres
        self._radii: list[float] = []
        self._image_rect = QRectF()
        self._image: QImage | None = None
        self._batches: list[tuple[tuple[int, int, int, int], list[QLineF]]] = []
        self.refresh_count = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._edges_stale = True  # weight-mode edges change only with the weights
        session.inputChanged.connect(self.schedule_refresh)
        session.networkChanged.connect(self._weights_changed)
        session.networkChanged.connect(self.schedule_refresh)
        self.setMinimumSize(260, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Click a neuron to see its weights and what it finds in your drawing.")
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(560, 400)

    # ------------------------------------------------------------------ model
    @property
    def sizes(self) -> tuple[int, ...]:
        return self._session.network.sizes

    @property
    def edge_mode(self) -> str:
        return self._mode

    def set_edge_mode(self, mode: str) -> None:
        """Colour edges by their weight ("weight") or by weight x activation ("contribution")."""
        if mode not in EDGE_MODES:
            raise ValueError(f"edge mode must be one of {EDGE_MODES}, got {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self._edges_stale = True
            self.refresh()

    def schedule_refresh(self) -> None:
        """Recompute and repaint once, ``REFRESH_MS`` after the first of a burst of changes."""
        if not self._timer.isActive():
            self._timer.start()

    def _weights_changed(self) -> None:
        self._edges_stale = True

    def refresh(self) -> None:
        """Recompute activations and edges from the session now, and repaint."""
        self._timer.stop()
        prediction = self._session.prediction()
        self._activations = None if prediction is None else [np.asarray(a, dtype=np.float64) for a in prediction.activations]
        self._image = None if prediction is None else self._input_image(self._activations[0], self.palette())
        # While drawing only the input changes: weight-mode edges and their batched lines stay.
        rebuild = self._edges_stale or self._mode == "contribution" or len(self._edges) != len(self.sizes) - 1
        if rebuild:
            self._edges = [self._edge_set(layer) for layer in range(1, len(self.sizes))]
            self._edges_stale = False
        if self._selected is not None and not (
            self._selected[0] < len(self.sizes) and self._selected[1] < self.shown(self._selected[0])
        ):
            self._selected = None
        self._layout(rebatch=rebuild)
        self.refresh_count += 1
        self.update()
        self.refreshed.emit()

    def shown(self, layer: int) -> int:
        """How many neurons of ``layer`` are drawn."""
        return min(self.sizes[layer], MAX_NODES) if layer > 0 else self.sizes[0]

    def node_fill(self, layer: int) -> np.ndarray:
        """How lit each drawn neuron of ``layer`` (>= 1) is, in [0, 1] (zeros without an input)."""
        if self._activations is None:
            return np.zeros(self.shown(layer))
        return activation_strength(self._activations[layer][: self.shown(layer)])

    def edges(self, layer: int) -> EdgeSet:
        """The drawn edges into ``layer`` (>= 1)."""
        return self._edges[layer - 1]

    def winner(self) -> int | None:
        """The boxed output: the index of the largest output, or None without an input."""
        if self._activations is None:
            return None
        return int(np.argmax(self._activations[-1]))

    def output_labels(self) -> list[str]:
        return output_labels(self.sizes[-1])

    def node_centre(self, layer: int, index: int) -> QPointF:
        """Where neuron ``index`` of ``layer`` (>= 1) is drawn, in widget coordinates."""
        x, y = self._centres[layer - 1][index]
        return QPointF(float(x), float(y))

    def node_at(self, point: QPointF) -> tuple[int, int] | None:
        """``(layer, index)`` of the neuron under ``point``, or None."""
        best, best_d2 = None, np.inf
        for layer, (centres, r) in enumerate(zip(self._centres, self._radii), start=1):
            d2 = (centres[:, 0] - point.x()) ** 2 + (centres[:, 1] - point.y()) ** 2
            index = int(np.argmin(d2))
            if d2[index] <= (r + 3) ** 2 and d2[index] < best_d2:
                best, best_d2 = (layer, index), float(d2[index])
        return best

    @property
    def selected(self) -> tuple[int, int] | None:
        return self._selected

    def select(self, layer: int, index: int) -> None:
        """Ring a neuron (as after a click) and emit ``neuronClicked``."""
        self._selected = (layer, index)
        self.update()
        self.neuronClicked.emit(layer, index)

    def _edge_set(self, layer: int) -> EdgeSet:
        w = np.asarray(self._session.network.weights[layer - 1], dtype=np.float64)
        n_targets, n_sources = self.shown(layer), self.shown(layer - 1)
        values = w[:n_targets, :n_sources]
        if self._mode == "contribution":
            source = np.zeros(n_sources) if self._activations is None else self._activations[layer - 1][:n_sources]
            values = values * source
        per_neuron = INPUT_EDGES if layer == 1 else HIDDEN_EDGES
        columns = _strongest(values, max(2, min(per_neuron, EDGE_BUDGET // n_targets)))
        targets = np.repeat(np.arange(n_targets), columns.shape[1])
        sources = columns.reshape(-1)
        chosen = values[targets, sources]
        # Opacity against the largest of the whole layer, so a layer of weak edges looks weak.
        full = w if self._mode == "weight" else values
        top = float(np.max(np.abs(full), initial=0.0))
        steps = np.zeros(chosen.shape, dtype=int) if top <= 0 else np.ceil(np.abs(chosen) / top * ALPHA_STEPS)
        rgba = np.empty((chosen.size, 4), dtype=np.uint8)
        for sign, colour in ((1, style.POSITIVE_COLOR), (-1, style.NEGATIVE_COLOR)):
            c = QColor(colour)
            rgba[np.sign(chosen) == sign, :3] = (c.red(), c.green(), c.blue())
        rgba[chosen == 0, :3] = 128
        rgba[:, 3] = np.clip(steps, 0, ALPHA_STEPS) * 255 // ALPHA_STEPS
        return EdgeSet(sources, targets, chosen, rgba)

    @staticmethod
    def _input_image(x: np.ndarray, palette: QPalette) -> QImage:
        """The input in the nodes' colours: ink as lit as a fully active neuron."""
        bg, fg = style.plot_background(palette), style.text_color(palette)
        low = np.array([bg.red(), bg.green(), bg.blue()], dtype=np.float64)
        high = np.array([fg.red(), fg.green(), fg.blue()], dtype=np.float64)
        amount = np.clip(x.reshape(28, 28, 1), 0, 1)
        rgb = np.ascontiguousarray((low + (high - low) * amount).round().astype(np.uint8))
        return QImage(rgb.data, 28, 28, 28 * 3, QImage.Format.Format_RGB888).copy()

    # --------------------------------------------------------------- geometry
    def _layout(self, rebatch: bool = True) -> None:
        """Column positions and node centres for the current size (and the edges' lines, with ``rebatch``)."""
        w, h = max(self.width(), 1), max(self.height(), 1)
        n_layers = len(self.sizes)
        top, bottom = 14.0, 40.0
        usable = h - top - bottom
        side = min(usable * 0.42, w * 0.22)
        self._image_rect = QRectF(8, top + (usable - side) / 2, side, side)
        label_room = 44.0
        x0, x1 = self._image_rect.right() + 60, w - label_room
        xs = np.linspace(x0, x1, n_layers - 1) if n_layers > 2 else np.array([(x0 + x1) / 2])
        gap = (xs[1] - xs[0]) if len(xs) > 1 else x1 - x0
        self._centres, self._radii = [], []
        for layer in range(1, n_layers):
            count = self.shown(layer)
            # Each column spreads its own neurons (10 outputs need not be as small as 64 hidden ones).
            spacing = usable / max(count, 16)
            self._radii.append(float(max(2.0, min(spacing * 0.4, gap * 0.12, 13.0))))
            ys = top + (usable - spacing * count) / 2 + spacing * (np.arange(count) + 0.5)
            self._centres.append(np.column_stack([np.full(count, xs[layer - 1]), ys]))
        if rebatch and len(self._edges) == n_layers - 1:
            self._batch_edges()

    def _source_points(self, layer: int) -> np.ndarray:
        """Start points of the edges into ``layer``: pixel centres in the image, or node centres."""
        if layer > 1:
            return self._centres[layer - 2]
        rect = self._image_rect
        pixel = rect.width() / 28
        index = np.arange(self.sizes[0])
        return np.column_stack([rect.left() + (index % 28 + 0.5) * pixel, rect.top() + (index // 28 + 0.5) * pixel])

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._layout()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        hit = self.node_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(*hit)
        super().mousePressEvent(event)

    # ---------------------------------------------------------------- drawing
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        background = style.plot_background(palette)
        foreground = style.text_color(palette)
        painter.fillRect(self.rect(), background)
        self._paint_edges(painter, background)
        self._paint_image(painter, foreground)
        self._paint_nodes(painter, background, foreground)
        self._paint_labels(painter, foreground)
        painter.end()

    def _batch_edges(self) -> None:
        """Group the edges' lines by colour, faintest first, for :meth:`_paint_edges` (after layout)."""
        self._batches = []
        for layer in range(1, len(self.sizes)):
            edges = self._edges[layer - 1]
            ends_xy = np.hstack([self._source_points(layer)[edges.sources], self._centres[layer - 1][edges.targets]])
            keys = edges.rgba.view(np.uint32).reshape(-1)
            unique, first = np.unique(keys, return_index=True)
            for key, k0 in sorted(zip(unique, first), key=lambda pair: edges.rgba[pair[1], 3]):
                r, g, b, a = (int(v) for v in edges.rgba[k0])
                if a:
                    # tolist(): QLineF from Python floats is several times quicker than from NumPy scalars.
                    lines = [QLineF(*row) for row in ends_xy[keys == key].tolist()]
                    self._batches.append(((r, g, b, a), lines))

    def _paint_edges(self, painter: QPainter, background: QColor) -> None:
        # Translucent antialiased lines cost ~10x opaque ones in Qt's raster engine
        # (measured ~40 ms against ~3 ms for 576 edges), so each edge is drawn opaque in its
        # colour premixed with the background at its opacity, faintest first: the same look
        # on the background, strong edges on top.
        for (r, g, b, a), lines in self._batches:
            painter.setPen(QPen(_blend(background, QColor(r, g, b), a / 255), 1.0))
            painter.drawLines(lines)

    def _paint_image(self, painter: QPainter, foreground: QColor) -> None:
        rect = self._image_rect
        if self._image is not None:
            painter.drawImage(rect, self._image)
        painter.setPen(QPen(foreground, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        if self._image is None:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "Draw a digit")

    def _paint_nodes(self, painter: QPainter, background: QColor, foreground: QColor) -> None:
        outline = QPen(style.muted_color(self.palette(), 0.6), 1)
        for layer in range(1, len(self.sizes)):
            fills, r = self.node_fill(layer), self._radii[layer - 1]
            for (x, y), amount in zip(self._centres[layer - 1], fills):
                painter.setPen(outline)
                painter.setBrush(_blend(background, foreground, float(amount)))
                painter.drawEllipse(QPointF(x, y), r, r)
        if self._selected is not None:
            centre, r = self.node_centre(*self._selected), self._radii[self._selected[0] - 1]
            painter.setPen(QPen(QColor(style.ACCENT), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, r + 3, r + 3)

    def _paint_labels(self, painter: QPainter, foreground: QColor) -> None:
        font = QFont(self.font())
        painter.setFont(font)
        painter.setPen(foreground)
        last = len(self.sizes) - 1
        r = self._radii[-1]
        labels = self.output_labels()
        for index, label in enumerate(labels[: self.shown(last)]):
            centre = self.node_centre(last, index)
            painter.drawText(QRectF(centre.x() + r + 4, centre.y() - 9, 40, 18), Qt.AlignmentFlag.AlignVCenter, label)
        winner = self.winner()
        if winner is not None and winner < self.shown(last):
            centre = self.node_centre(last, winner)
            painter.setPen(QPen(QColor(style.ACCENT), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            half_h = max(r + 3, 9.0)
            painter.drawRect(QRectF(centre.x() - r - 4, centre.y() - half_h, 2 * r + 8 + 6 + 8 * len(labels[winner]) + 4, 2 * half_h))
            painter.setPen(foreground)
        bottom = self.height() - 36
        names = ["input\n28x28"] + [f"hidden {layer}\n{self.sizes[layer]}" for layer in range(1, last)]
        names.append(f"output\n{self.sizes[last]}")
        xs = [self._image_rect.center().x()] + [float(c[0, 0]) for c in self._centres]
        for layer, (x, name) in enumerate(zip(xs, names)):
            if 0 < layer and self.sizes[layer] > self.shown(layer):
                name += f" ({self.shown(layer)} shown)"
            painter.drawText(QRectF(x - 70, bottom, 140, 34), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)


def _blend(background: QColor, foreground: QColor, amount: float) -> QColor:
    """``background`` moved ``amount`` (0-1) of the way to ``foreground``: a neuron's fill."""
    return QColor.fromRgbF(
        background.redF() + (foreground.redF() - background.redF()) * amount,
        background.greenF() + (foreground.greenF() - background.greenF()) * amount,
        background.blueF() + (foreground.blueF() - background.blueF()) * amount,
    )


__all__ = ["EDGE_MODES", "EdgeSet", "MAX_NODES", "NetworkDiagram"]
