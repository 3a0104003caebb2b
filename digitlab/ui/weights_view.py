"""What each neuron looks for, as pictures of its weights.

A first-layer neuron has one weight per pixel, so its 784 weights *are* a
28x28 picture: red where ink makes it fire, blue where ink holds it back.
A neuron deeper in the network sees pixels only through the layer before it;
its picture here is the weighted sum of that layer's pictures (layer 2 neuron
``k``: ``sum_j W2[k, j] * W1[j]``, deeper layers chain the products). That is
the linear part of what it responds to; the squashing functions in between
are left out, so read it as a rough guide rather than an exact template.

All tiles of a layer share one symmetric colour scale, ``-m .. +m`` with
``m`` the largest absolute value in the layer (rounded up to two significant
digits), so tiles can be compared
fairly: a pale tile really has small weights. For speed, a layer is one image
(a mosaic of tiles with 1-pixel transparent gaps) plus one outline item per
tile, whose pen shows the neuron's current activation.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QLabel,
    QSizePolicy,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.projections import activation_strength, pixel_space_images, symmetric_limit
from digitlab.ui import style
from digitlab.ui.mosaic import MosaicLayout
from digitlab.ui.session import output_labels
from digitlab.ui.neuron_details import (
    EXPORT_TARGET_PX,
    ImageExportError,
    NeuronDetailDialog,
    colorize,
    write_png_atomic,
)

#: Outline strengths: 0 = idle outline, HIGHLIGHT_LEVELS - 1 = fully active.
HIGHLIGHT_LEVELS = 12
#: Said under every layer's pictures: the outlines are the live part of the view.
OUTLINE_CAPTION = "Outlines: the brighter and thicker, the more active the neuron is for the current input."


# ------------------------------------------------------------------- the view
class _LayerItems:
    """The plot items of one layer: its mosaic image and one outline per tile."""

    def __init__(self, view_box: pg.ViewBox, layout: MosaicLayout, labels: list[str] | None = None) -> None:
        self.layout = layout
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(style.diverging_lut())
        view_box.addItem(self.image)
        self.rects: list[QGraphicsRectItem] = []
        for index in range(layout.count):
            rect = QGraphicsRectItem(layout.tile_rect(index))
            rect.setBrush(Qt.BrushStyle.NoBrush)
            rect.setZValue(10)
            view_box.addItem(rect)
            self.rects.append(rect)
        self.levels_shown = [-1] * layout.count  # forces the first pen update
        self.pens: list[QPen] = []
        # The output layer's tiles say which digit they stand for. Plain text items
        # that are children of the outlines (removed with them): pyqtgraph's
        # TextItems, removed and freed on every new architecture, crashed the
        # garbage collector in long test runs.
        self.labels: list[QGraphicsSimpleTextItem] = []
        for index, text in enumerate(labels or ()):
            label = QGraphicsSimpleTextItem(text, self.rects[index])
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # screen-sized text
            label.setPos(self.rects[index].rect().topLeft() + QPointF(1.0, 1.0))
            self.labels.append(label)

    def _items(self) -> list:
        return [self.image, *self.rects]

    def set_visible(self, visible: bool) -> None:
        for item in self._items():
            item.setVisible(visible)

    def remove_from(self, view_box: pg.ViewBox) -> None:
        for item in self._items():
            view_box.removeItem(item)


class WeightsView(QWidget):
    """Pictures of what each neuron responds to, one tab per layer.

    Layers are numbered as in ``Network.forward``'s list: layer 1 is the first
    hidden layer, the last one the output layer (shown too: its pictures are
    the digit "templates").

    Signals
    -------
    neuronClicked(int layer, int index)
        A tile was clicked; ``layer`` numbered as above, ``index`` from 0.
    """

    neuronClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, open_details_on_click: bool = True) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        self._open_details_on_click = open_details_on_click
        self._weights: list[np.ndarray] = []
        self._biases: list[np.ndarray] = []
        self._sizes: tuple[int, ...] = ()
        self._side = 0  # input image side (28), 0 when the input is not a square image
        self._activations: list[np.ndarray] | None = None
        self._projections: dict[int, np.ndarray] = {}
        self._layers: dict[int, _LayerItems] = {}
        self._current = 1
        self._details: NeuronDetailDialog | None = None
        self._details_key: tuple[int, int] | None = None
        self._build()
        self._restyle()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._tabs = QTabBar()
        self._tabs.setExpanding(False)
        self._tabs.setToolTip("Choose the layer whose neurons are shown.")
        self._tabs.currentChanged.connect(self._on_tab_changed)

        self._caption = QLabel()
        self._caption.setWordWrap(True)
        self._caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._caption.setContentsMargins(6, 2, 6, 2)

        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setMinimumSize(200, 180)
        self._graphics.setToolTip(
            "Each tile is one neuron. Red: ink there pushes the neuron on; blue: pushes it off.\n"
            "A bright outline means the neuron is active for the current drawing.\n"
            "Click a tile for details."
        )
        self._view_box = self._graphics.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self._view_box.setMenuEnabled(False)
        self._colorbar = pg.ColorBarItem(
            values=(-1.0, 1.0),
            colorMap=style.diverging_colormap(),
            interactive=False,
            width=14,
            colorMapMenu=False,
        )
        self._graphics.addItem(self._colorbar, row=0, col=1)
        self._graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)

        self._message = QLabel("No network yet.")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._tabs)
        layout.addWidget(self._caption)
        layout.addWidget(self._graphics, 1)
        layout.addWidget(self._message, 1)
        self._show_message("No network yet.")

    def _show_message(self, text: str | None) -> None:
        self._message.setText(text or "")
        self._message.setVisible(bool(text))
        self._graphics.setVisible(not text)
        self._caption.setVisible(not text)

    # ------------------------------------------------------------- public API
    def set_parameters(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        """Show a network's parameters (read-only arrays are fine; they are never written).

        Raises ValueError when the shapes do not chain into a network.
        """
        weights = [np.asarray(w) for w in weights]
        biases = [np.asarray(b) for b in biases]
        sizes = self._check_shapes(weights, biases)
        self._weights, self._biases = weights, biases
        self._projections.clear()
        if sizes != self._sizes:
            self._rebuild(sizes)
        if self._side:
            self._refresh_layer(self._current)
        self._refresh_details()

    def set_activations(self, activations: Sequence[np.ndarray] | None) -> None:
        """Highlight neurons by a forward pass's activations ``[input, h1, ..., out]``, or None."""
        if activations is None:
            self._activations = None
        else:
            activations = [np.asarray(a).reshape(-1) for a in activations]
            if self._sizes and tuple(a.size for a in activations) != self._sizes:
                raise ValueError(
                    f"activations have layer sizes {tuple(a.size for a in activations)}, "
                    f"the network has {self._sizes}"
                )
            self._activations = activations
        if self._current in self._layers:
            self._update_highlight(self._current)
        self._refresh_details()

    def follow(self, session) -> None:
        """Show ``session``'s network and highlight its current input's activations from now on."""
        self._session = session
        session.networkChanged.connect(self._on_network_changed)
        session.inputChanged.connect(self._on_input_changed)
        self._on_network_changed()

    @Slot()
    def _on_network_changed(self) -> None:
        network = self._session.network
        self.set_parameters(network.weights, network.biases)
        self._on_input_changed()

    @Slot()
    def _on_input_changed(self) -> None:
        prediction = self._session.prediction()
        self.set_activations(None if prediction is None else prediction.activations)

    def output_label_texts(self) -> list[str]:
        """The labels on the output layer's tiles ("0".."9", "none" for an 11th output)."""
        last = self.layer_count()
        items = self._layers.get(last)
        return [label.text() for label in items.labels] if items else []

    def caption_text(self) -> str:
        return self._caption.text()

    def layer_count(self) -> int:
        """Number of layers with tiles (hidden layers plus the output layer)."""
        return len(self._sizes) - 1 if self._sizes else 0

    def current_layer(self) -> int:
        """The layer shown (1 = first hidden layer)."""
        return self._current

    def set_current_layer(self, layer: int) -> None:
        """Show another layer (1 .. layer_count())."""
        if not 1 <= layer <= self.layer_count():
            raise ValueError(f"layer must be between 1 and {self.layer_count()}, got {layer}")
        self._tabs.setCurrentIndex(layer - 1)  # _on_tab_changed does the rest

    def layout_of(self, layer: int | None = None) -> MosaicLayout:
        """The tile layout of a layer (default: the one shown)."""
        return self._layers[layer or self._current].layout

    def tile_images(self, layer: int | None = None) -> np.ndarray:
        """The layer's pixel-space pictures, ``(neurons, side, side)`` float64."""
        layer = layer or self._current
        side = self._side
        return self._projection(layer).reshape(-1, side, side)

    def mosaic(self, layer: int | None = None) -> np.ndarray:
        """The mosaic image of a layer as shown (float32, NaN in the gaps)."""
        layer = layer or self._current
        return self._layers[layer].layout.assemble(self.tile_images(layer))

    def levels(self, layer: int | None = None) -> tuple[float, float]:
        """The layer's shared symmetric colour levels ``(-m, m)``."""
        limit = symmetric_limit(self._projection(layer or self._current))
        return -limit, limit

    def highlight_pens(self, layer: int | None = None) -> list[QPen]:
        """Each tile outline's pen (tests and screenshots use this)."""
        return [rect.pen() for rect in self._layers[layer or self._current].rects]

    def tile_viewport_pos(self, index: int) -> QPoint:
        """Centre of a tile of the shown layer in the graphics viewport's coordinates."""
        items = self._layers[self._current]
        centre = items.layout.tile_rect(index).center()
        scene_point = items.image.mapToScene(centre)
        return self._graphics.mapFromScene(scene_point)

    def graphics_viewport(self) -> QWidget:
        """The widget that receives mouse clicks on the tiles."""
        return self._graphics.viewport()

    def details_dialog(self) -> "NeuronDetailDialog | None":
        """The neuron detail window, once one was opened."""
        return self._details

    def show_neuron_details(self, layer: int, index: int) -> None:
        """Open (or update) the detail window for one neuron."""
        if not 1 <= layer <= self.layer_count() or not 0 <= index < self._sizes[layer]:
            raise ValueError(f"no neuron {index} in layer {layer}")
        if self._details is None:
            self._details = NeuronDetailDialog(self)
        self._details_key = (layer, index)
        self._refresh_details()
        self._details.show()
        if QGuiApplication.platformName() != "offscreen":  # it only warns there
            self._details.raise_()

    def export_image(self, path: str | os.PathLike, layer: int | None = None) -> Path:
        """Save a layer's mosaic (default: the one shown) as a PNG, scaled up with square pixels.

        Written atomically; raises :class:`ImageExportError` naming the file.
        """
        path = Path(path)
        if not self._weights or not self._side:
            raise ImageExportError(f"cannot write {path}: there are no weight images to export yet")
        layer = layer or self._current
        mosaic = self.mosaic(layer)
        low, high = self.levels(layer)
        rgba = colorize(mosaic, low, high)
        scale = max(1, EXPORT_TARGET_PX // max(mosaic.shape))
        rgba = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
        write_png_atomic(path, rgba)
        return path

    # --------------------------------------------------------------- internals
    @staticmethod
    def _check_shapes(weights: list[np.ndarray], biases: list[np.ndarray]) -> tuple[int, ...]:
        if not weights or len(weights) != len(biases):
            raise ValueError("need one weight matrix and one bias vector per layer")
        sizes = [weights[0].shape[1] if weights[0].ndim == 2 else -1]
        for layer, (w, b) in enumerate(zip(weights, biases), start=1):
            if w.ndim != 2 or w.shape[1] != sizes[-1] or b.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {layer}: weights {w.shape} and biases {b.shape} do not follow "
                    f"a layer of {sizes[-1]} neurons"
                )
            sizes.append(w.shape[0])
        return tuple(sizes)

    def _rebuild(self, sizes: tuple[int, ...]) -> None:
        """New architecture: new tabs and plot items (not done on ordinary updates)."""
        for items in self._layers.values():
            items.remove_from(self._view_box)
        self._layers.clear()
        self._sizes = sizes
        side = math.isqrt(sizes[0])
        self._side = side if side * side == sizes[0] else 0
        if self._activations is not None and tuple(a.size for a in self._activations) != sizes:
            self._activations = None
        self._details_key = None
        if self._details is not None:
            self._details.hide()
        self._tabs.blockSignals(True)
        while self._tabs.count():
            self._tabs.removeTab(0)
        last = len(sizes) - 1
        for layer in range(1, len(sizes)):
            name = "Output" if layer == last else f"Layer {layer}"
            self._tabs.addTab(f"{name} ({sizes[layer]})")
        self._tabs.blockSignals(False)
        if not self._side:
            self._show_message(f"Weight pictures need a square input image; this network has {sizes[0]} inputs.")
            return
        self._show_message(None)
        for layer in range(1, len(sizes)):
            labels = output_labels(sizes[layer]) if layer == last else None
            items = _LayerItems(self._view_box, MosaicLayout.for_count(sizes[layer], self._side), labels)
            self._make_pens(items)
            for label in items.labels:
                label.setBrush(style.text_color(self.palette()))
            items.set_visible(False)
            self._layers[layer] = items
        self._current = min(self._current, last)
        self._tabs.setCurrentIndex(self._current - 1)
        self._show_layer(self._current)

    def _projection(self, layer: int) -> np.ndarray:
        if layer not in self._projections:
            self._projections[layer] = pixel_space_images(self._weights, layer)
        return self._projections[layer]

    @Slot(int)
    def _on_tab_changed(self, tab_index: int) -> None:
        if tab_index < 0 or not self._layers:
            return
        self._show_layer(tab_index + 1)

    def _show_layer(self, layer: int) -> None:
        for number, items in self._layers.items():
            items.set_visible(number == layer)
        self._current = layer
        self._refresh_layer(layer)
        height, width = self._layers[layer].layout.shape
        self._view_box.setRange(QRectF(-1, -1, width + 2, height + 2), padding=0)

    def _refresh_layer(self, layer: int) -> None:
        """Put the current parameters into the layer's image and the colour bar."""
        if not self._weights or layer not in self._layers:
            return
        low, high = self.levels(layer)
        self._layers[layer].image.setImage(self.mosaic(layer), levels=(low, high), autoLevels=False)
        if self._colorbar.levels() != (low, high):
            self._colorbar.setLevels((low, high))
        caption = self._caption_for(layer)
        if caption != self._caption.text():
            self._caption.setText(caption)
        self._update_highlight(layer)

    def _caption_for(self, layer: int) -> str:
        if layer == 1:
            what = "Each tile is one neuron's weights, one per pixel"
        else:
            name = "an output" if layer == len(self._sizes) - 1 else f"a layer {layer}"
            what = (
                f"Each tile is {name} neuron's weighted sum of the layer {layer - 1} pictures "
                "(a linear view that ignores the squashing in between)"
            )
        if layer == len(self._sizes) - 1:
            what += "; each tile is labelled with the output it stands for"
        return f"{what}; one colour scale for the layer, ±{self.levels(layer)[1]:.3g}.\n{OUTLINE_CAPTION}"

    def _update_highlight(self, layer: int) -> None:
        items = self._layers.get(layer)
        if items is None:
            return
        if self._activations is None:
            steps = np.zeros(items.layout.count, dtype=int)
        else:
            strength = activation_strength(self._activations[layer])
            steps = np.rint(strength * (HIGHLIGHT_LEVELS - 1)).astype(int)
        for index, step in enumerate(steps):
            # Only changed outlines are touched: hundreds of setPen calls per
            # update would be wasted when most neurons keep their level.
            if step != items.levels_shown[index]:
                items.rects[index].setPen(items.pens[step])
                items.levels_shown[index] = step

    def _make_pens(self, items: _LayerItems) -> None:
        """One pen per outline strength; thinner for many small tiles, so they stay visible."""
        idle = style.muted_color(self.palette(), 0.25)
        cols = items.layout.cols
        extra_width = 2.5 if cols <= 6 else 1.5 if cols <= 12 else 0.8
        items.pens = []
        for step in range(HIGHLIGHT_LEVELS):
            if step == 0:
                pen = QPen(idle, 1)
            else:
                strength = step / (HIGHLIGHT_LEVELS - 1)
                color = style.with_alpha(style.ACCENT, int(90 + 165 * strength))
                pen = QPen(color, 1 + extra_width * strength)
            pen.setCosmetic(True)  # width in screen pixels, whatever the zoom
            items.pens.append(pen)
        items.levels_shown = [-1] * items.layout.count

    @Slot(object)
    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._current not in self._layers:
            return
        items = self._layers[self._current]
        point = items.image.mapFromScene(event.scenePos())
        index = items.layout.index_at(point.x(), point.y())
        if index is None:
            return
        event.accept()
        self.neuronClicked.emit(self._current, index)
        if self._open_details_on_click:
            self.show_neuron_details(self._current, index)

    def _refresh_details(self) -> None:
        if self._details is None or self._details_key is None or not self._weights:
            return
        layer, index = self._details_key
        activation = None if self._activations is None else float(self._activations[layer][index])
        self._details.show_neuron(
            layer=layer,
            index=index,
            is_output=layer == len(self._sizes) - 1,
            image=self.tile_images(layer)[index] if self._side else None,
            incoming=np.asarray(self._weights[layer - 1][index], dtype=np.float64),
            bias=float(self._biases[layer - 1][index]),
            activation=activation,
        )

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        style.style_plot(self._graphics, self.palette())
        text = style.text_color(self.palette())
        for items in self._layers.values():
            self._make_pens(items)
            for label in items.labels:
                label.setBrush(text)
        if self._current in self._layers:
            self._update_highlight(self._current)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)
