"""The network diagram lesson's view: the network as 3Blue1Brown draws it, and one neuron up close.

Nothing is measured, so there is no core module: the view follows the
session's current input and weights (also while training, through
``networkChanged``) and draws them with
:class:`digitlab.ui.widgets.network_diagram.NetworkDiagram`. Clicking a
neuron shows, beside the diagram, its incoming weights (a 28x28 image for the
first hidden layer, a row for deeper ones; symmetric levels, the diverging
colormap), those weights multiplied by the current input ("what it finds in
your drawing", 3Blue1Brown's revealed view) and its weighted sum ``z``, bias
``b`` and activation ``a``. One forward pass of one image takes microseconds,
so everything runs on the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.network import Network
from digitlab.core.projections import symmetric_limit
from digitlab.ui import style
from digitlab.ui.lessons.common import lesson_texts, text_label
from digitlab.ui.session import ModelSession, output_labels
from digitlab.ui.widgets.network_diagram import NetworkDiagram

EXPLANATION = (
    "Each circle is a neuron, lit by its activation for your drawing; each line is a weight (red: positive, "
    "blue: negative; the stronger, the bolder).\nA neuron adds up the layer before it, weighted, plus its bias, and "
    "squashes the sum; the brightest output, boxed, is the network's answer. Click a neuron to see what it looks for."
)
HINT = "Try this: Draw a 3, then slowly extend it into an 8, and watch the second layer."


def make_view(session: ModelSession) -> "DiagramView":
    """The registry's entry point: a diagram view following ``session``."""
    return DiagramView(session)


def _layer_name(sizes: tuple[int, ...], layer: int) -> str:
    return "output" if layer == len(sizes) - 1 else f"hidden layer {layer}"


class NeuronPanel(QWidget):
    """One neuron's incoming weights, the weights times its inputs, and its z, b and a.

    After :meth:`show_neuron`, ``weights_image`` and ``product_image`` hold the
    drawn arrays (28x28 for the first hidden layer, one row deeper) and
    ``values`` the numbers ``{"z", "b", "a"}`` (z and a are None without an input).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.neuron: tuple[int, int] | None = None
        self.weights_image: np.ndarray | None = None
        self.product_image: np.ndarray | None = None
        self.values: dict[str, float | None] = {}
        self.title = QLabel("Click a neuron in the diagram.")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self._boxes, self._images, self._captions, self._plots = [], [], [], []
        for caption in ("Its incoming weights", "Weights x your drawing: what it finds"):
            label = text_label(caption)
            plot = pg.GraphicsLayoutWidget()
            plot.setMinimumSize(130, 100)
            box = plot.addViewBox(row=0, col=0, invertY=True, enableMouse=False)
            box.setMenuEnabled(False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setLookupTable(style.diverging_lut())
            box.addItem(image)
            self._captions.append(label)
            self._plots.append(plot)
            self._boxes.append(box)
            self._images.append(image)
        self.numbers = QLabel()
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numbers.setWordWrap(True)
        self.numbers.setToolTip("z = sum of weights x inputs + b; a = the activation function of z.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        for label, plot in zip(self._captions, self._plots):
            layout.addWidget(label)
            layout.addWidget(plot, 1)
        layout.addWidget(self.numbers)
        self._restyle()

    # A word-wrapped title makes a layout ask height-for-width, which adds up the images'
    # tall size hints: the scroll area would then make the view twice the dock's height.
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return False

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(220, 380)

    def _restyle(self) -> None:
        for plot in self._plots:
            plot.setBackground(style.plot_background(self.palette()))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._restyle()

    @staticmethod
    def _function(network: Network, layer: int) -> str:
        if layer < len(network.sizes) - 1:
            return network.activation
        return "softmax" if network.cost == "cross_entropy" else "sigmoid"

    def clear(self) -> None:
        """Back to the invitation to click (the shown neuron is gone: another architecture)."""
        self.neuron, self.weights_image, self.product_image, self.values = None, None, None, {}
        for image in self._images:
            image.clear()
        self.title.setText("Click a neuron in the diagram.")
        self.numbers.setText("")

    def show_neuron(self, network: Network, activations: list[np.ndarray] | None, layer: int, index: int) -> None:
        """Show neuron ``index`` of ``layer`` (>= 1) for ``activations`` (``Network.forward``, or None)."""
        self.neuron = (layer, index)
        w = np.asarray(network.weights[layer - 1][index], dtype=np.float64)
        b = float(network.biases[layer - 1][index])
        source = None if activations is None else np.asarray(activations[layer - 1], dtype=np.float64)
        product = np.zeros_like(w) if source is None else w * source
        shape = (28, 28) if layer == 1 else (1, w.size)
        self.weights_image, self.product_image = w.reshape(shape), product.reshape(shape)
        # Both images on the weights' scale, so the product shows how much of each weight your input uses.
        limit = symmetric_limit(w)
        for box, image, values in zip(self._boxes, self._images, (self.weights_image, self.product_image)):
            image.setImage(values, levels=(-limit, limit), autoLevels=False)
            box.setAspectLocked(layer == 1)
            box.autoRange(padding=0.02)
        if layer == 1:
            self._captions[0].setText("Its incoming weights, one per pixel")
            self._captions[1].setText("Weights x your drawing: what it finds")
        else:
            self._captions[0].setText(f"Its {w.size} incoming weights, one per neuron before")
            self._captions[1].setText("Weights x those neurons' activations")
        name = output_labels(network.sizes[-1])[index] if layer == len(network.sizes) - 1 else None
        self.title.setText(
            f"{_layer_name(network.sizes, layer).capitalize()}, neuron {index}"
            + (f" (the \u201c{name}\u201d output)" if name is not None else "")
        )
        if source is None:
            self.values = {"z": None, "b": b, "a": None}
            self.numbers.setText(f"bias b: {b:+.3f}\nDraw a digit to see its weighted sum z and activation a.")
            return
        z = float(product.sum() + b)
        a = float(activations[layer][index])
        self.values = {"z": z, "b": b, "a": a}
        self.numbers.setText(
            f"weights x inputs: {product.sum():+.3f}\n"
            f"bias b: {b:+.3f}\n"
            f"weighted sum z: {z:+.3f}\n"
            f"a = {self._function(network, layer)}(z): {a:.3f}"
        )


class DiagramView(QWidget):
    """The diagram, its edge-colour toggle and the clicked neuron's panel, following the session."""

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        explanation, hint = lesson_texts(EXPLANATION, HINT)
        self.diagram = NetworkDiagram(session)
        self.panel = NeuronPanel()
        self.weight_button = QRadioButton("Lines: weight w")
        self.contribution_button = QRadioButton("Lines: w x activation (what flows now)")
        self.weight_button.setChecked(True)
        self.weight_button.setToolTip("Each line's colour and strength is its weight, whatever the input.")
        self.contribution_button.setToolTip("Each line is its weight times the activation it carries for this input.")
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.weight_button)
        self.mode_group.addButton(self.contribution_button)
        self.contribution_button.toggled.connect(self._mode_toggled)
        toggles = QHBoxLayout()
        toggles.addWidget(self.weight_button)
        toggles.addWidget(self.contribution_button)
        toggles.addStretch(1)
        legend = text_label(
            "Only each neuron's strongest lines are drawn. The orange box is the answer; the orange ring, the neuron shown on the right."
        )
        body = QHBoxLayout()
        body.addWidget(self.diagram, 5)
        body.addWidget(self.panel, 2)
        # Everything scrolls in a short dock rather than stretching the window past the screen.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(explanation)
        layout.addWidget(hint)
        layout.addLayout(toggles)
        layout.addLayout(body, 1)
        layout.addWidget(legend)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.diagram.neuronClicked.connect(self._show_neuron)
        self.diagram.refreshed.connect(self._follow)

    def _mode_toggled(self, contribution: bool) -> None:
        self.diagram.set_edge_mode("contribution" if contribution else "weight")

    def _show_neuron(self, layer: int, index: int) -> None:
        prediction = self.session.prediction()
        activations = None if prediction is None else prediction.activations
        self.panel.show_neuron(self.session.network, activations, layer, index)

    def _follow(self) -> None:
        # A new input or new weights: the shown neuron's numbers and images follow (or go, if it went).
        selected = self.diagram.selected
        if selected is not None:
            self._show_neuron(*selected)
        elif self.panel.neuron is not None:
            self.panel.clear()


__all__ = ["DiagramView", "EXPLANATION", "HINT", "NeuronPanel", "make_view"]
