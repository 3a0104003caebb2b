"""The overconfidence lesson: the network answers even when shown pure noise.

The network has ten output neurons and no way to say "none of these": every
input, however meaningless, lights one of them up most. This panel feeds
1,000 noise images and 1,000 real digits through the network and compares
the distributions of its *top* output (the value of the winning neuron).
Typically the noise gets confident-looking answers too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it

from digitlab.core.datasets import to_inputs
from digitlab.core.preprocess import NOISE_KINDS, noise_image
from digitlab.ui import style

SAMPLES = 1000
#: "Confident" means a top output above this.
THRESHOLD = 0.5
HISTOGRAM_BINS = 20
#: Combo-box entries: (data, label). "all" mixes the kinds in equal parts.
KIND_CHOICES = (
    ("all", "All kinds (mixed)"),
    ("uniform", "Uniform"),
    ("gaussian", "Gaussian"),
    ("salt_and_pepper", "Salt and pepper"),
)


# ------------------------------------------------------------------ the maths
def noise_batch(kind: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` noise images, float32 ``(count, 28, 28)`` in [0, 1].

    ``kind`` is one of ``preprocess.NOISE_KINDS`` or ``"all"`` (the kinds in
    turn, so each makes up an equal share).
    """
    if kind != "all" and kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; expected 'all' or one of {NOISE_KINDS}")
    kinds = NOISE_KINDS if kind == "all" else (kind,)
    return np.stack([noise_image(kinds[i % len(kinds)], rng) for i in range(count)])


@dataclass(frozen=True)
class ComparisonResult:
    """Top outputs of the network on noise images and on real digits."""

    kind: str
    output_activation: str
    noise_top: np.ndarray
    noise_predictions: np.ndarray
    real_top: np.ndarray
    real_predictions: np.ndarray
    real_labels: np.ndarray

    @property
    def noise_above(self) -> float:
        """Fraction of noise images whose top output exceeds :data:`THRESHOLD`."""
        return float(np.mean(self.noise_top > THRESHOLD))

    @property
    def real_above(self) -> float:
        return float(np.mean(self.real_top > THRESHOLD)) if self.real_top.size else float("nan")

    @property
    def noise_median(self) -> float:
        return float(np.median(self.noise_top))

    @property
    def real_median(self) -> float:
        return float(np.median(self.real_top)) if self.real_top.size else float("nan")

    @property
    def real_accuracy(self) -> float:
        if not self.real_labels.size:
            return float("nan")
        return float(np.mean(self.real_predictions == self.real_labels))

    def favourite_noise_digit(self) -> tuple[int, float]:
        """The digit the network names most often for noise, and how often."""
        counts = np.bincount(self.noise_predictions, minlength=10)
        digit = int(np.argmax(counts))
        return digit, float(counts[digit] / max(1, self.noise_predictions.size))

    def summary(self) -> str:
        """One or two plain sentences for learners."""
        what = "top probability" if self.output_activation == "softmax" else "top output"
        digit, share = self.favourite_noise_digit()
        text = (
            f"On noise the network's {what} is above {THRESHOLD:g} for {self.noise_above:.0%} of images "
            f"(median {self.noise_median:.2f}); it never says 'none of these', it always names a digit "
            f"(most often {digit}, {share:.0%} of the time)."
        )
        if self.real_top.size:
            text += (
                f" On real digits: median {self.real_median:.2f}, above {THRESHOLD:g} for "
                f"{self.real_above:.0%}, {self.real_accuracy:.0%} correct."
            )
        return text


def compare(
    network,
    kind: str,
    rng: np.random.Generator,
    real_images: np.ndarray | None = None,
    real_labels: np.ndarray | None = None,
    samples: int = SAMPLES,
) -> ComparisonResult:
    """Run ``samples`` noise images and up to ``samples`` real digits through ``network``.

    Real digits (uint8 ``(n, 28, 28)``) are a random subset when there are more.
    Both batches go through one forward pass each (milliseconds).
    """
    noise = noise_batch(kind, samples, rng).reshape(samples, -1)
    noise_out = np.asarray(network.predict(noise))
    if real_images is not None and len(real_images):
        chosen = rng.choice(len(real_images), size=min(samples, len(real_images)), replace=False)
        chosen.sort()
        real_out = np.asarray(network.predict(to_inputs(real_images[chosen])))
        labels = np.asarray(real_labels)[chosen].astype(np.int64)
    else:
        real_out = np.zeros((0, noise_out.shape[1]))
        labels = np.zeros(0, dtype=np.int64)
    return ComparisonResult(
        kind=kind,
        output_activation=network.output_activation,
        noise_top=noise_out.max(axis=1),
        noise_predictions=noise_out.argmax(axis=1),
        real_top=real_out.max(axis=1),
        real_predictions=real_out.argmax(axis=1),
        real_labels=labels,
    )


# ------------------------------------------------------------------ the panel
class NoisePanel(QWidget):
    """Histograms of the network's top output on noise versus real digits.

    Signals
    -------
    noiseRequested(str)
        "Feed one noise image" was clicked; the argument is a kind from
        ``preprocess.NOISE_KINDS`` (for "all kinds" one is picked at random).
    comparisonFinished(object)
        A :class:`ComparisonResult` after each comparison.
    """

    noiseRequested = Signal(str)
    comparisonFinished = Signal(object)

    def __init__(self, parent: QWidget | None = None, rng: np.random.Generator | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        # The noise should differ between runs of the app unless a seeded generator is given.
        self._rng = rng if rng is not None else np.random.default_rng()
        self._network = None
        self._real_images: np.ndarray | None = None
        self._real_labels: np.ndarray | None = None
        self._result: ComparisonResult | None = None
        self._stale = False  # the network changed after the last comparison
        self._edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
        self._counts = {"noise": np.zeros(HISTOGRAM_BINS), "real": np.zeros(HISTOGRAM_BINS)}
        self._build()
        self._restyle()
        self._update_controls()

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self._kind_combo = QComboBox()
        for data, label in KIND_CHOICES:
            self._kind_combo.addItem(label, data)
        self._kind_combo.setToolTip(
            "Which noise to show the network: uniform (every pixel random), gaussian (grey fog),\n"
            "salt and pepper (random white dots on black), or all three mixed."
        )
        self._compare_button = QPushButton(f"Compare {SAMPLES:,} noise images with {SAMPLES:,} real digits")
        self._compare_button.clicked.connect(self.run_comparison)
        self._feed_button = QPushButton("Feed one noise image")
        self._feed_button.setToolTip("Show the network a single noise image, as if you had drawn it.")
        self._feed_button.clicked.connect(self._on_feed_clicked)

        self._plot = pg.PlotWidget()
        self._plot.setMinimumSize(260, 180)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._plot.setXRange(0.0, 1.0, padding=0.02)
        self._plot.setLabel("left", "images")
        self._plot.setToolTip(
            "How sure the network looks: for each image, the value of its largest output.\n"
            "Real digits should pile up near 1. Noise should stay low, but often does not."
        )
        self._legend = self._plot.addLegend(offset=(10, 10))
        self._noise_curve = self._histogram_item(style.NOISE_COLOR, "noise images")
        self._real_curve = self._histogram_item(style.REAL_COLOR, "real digits")
        self._noise_median = self._median_line(style.NOISE_COLOR, 0.92)
        self._real_median = self._median_line(style.REAL_COLOR, 0.78)

        self._summary = QLabel("Compare to see how the network answers noise.")
        self._summary.setWordWrap(True)
        self._summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Noise:"))
        controls.addWidget(self._kind_combo)
        controls.addWidget(self._feed_button)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self._compare_button)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self._summary)

    def _histogram_item(self, color: str, name: str) -> pg.PlotDataItem:
        item = pg.PlotDataItem(
            self._edges,
            np.zeros(HISTOGRAM_BINS),
            stepMode="center",
            fillLevel=0,
            pen=pg.mkPen(color, width=2),
            brush=pg.mkBrush(style.with_alpha(color, 70)),
            name=name,
        )
        self._plot.addItem(item)
        return item

    def _median_line(self, color: str, label_position: float) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=0.0,
            angle=90,
            movable=False,
            pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine),
            label="median {value:.2f}",
            labelOpts={"position": label_position, "color": color, "anchors": [(1.05, 0.5), (1.05, 0.5)]},
        )
        line.setVisible(False)
        self._plot.addItem(line, ignoreBounds=True)
        return line

    # ------------------------------------------------------------- public API
    def set_network(self, network) -> None:
        """The network to question (``predict`` is called in the GUI thread), or None."""
        changed = network is not self._network
        self._network = network
        if changed and self._result is not None and not self._stale:
            self._stale = True
            self._summary.setText(self._result.summary() + " (The network has changed since; compare again.)")
        self._update_controls()

    def set_real_digits(self, images_uint8: np.ndarray, labels: np.ndarray) -> None:
        """Real digits to compare with: uint8 ``(n, 28, 28)`` and their labels ``(n,)``."""
        images = np.asarray(images_uint8)
        labels = np.asarray(labels)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise ValueError(f"real digits must be uint8 of shape (n, 28, 28), got {images.dtype} {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
        self._real_images, self._real_labels = images, labels
        self._update_controls()

    def set_rng(self, rng: np.random.Generator) -> None:
        """Use this generator for the noise images and the choice of real digits."""
        self._rng = rng

    def kind(self) -> str:
        """The chosen noise kind ("all" or one of ``preprocess.NOISE_KINDS``)."""
        return self._kind_combo.currentData()

    def set_kind(self, kind: str) -> None:
        index = self._kind_combo.findData(kind)
        if index < 0:
            raise ValueError(f"unknown noise kind {kind!r}")
        self._kind_combo.setCurrentIndex(index)

    def result(self) -> ComparisonResult | None:
        """The latest comparison, or None."""
        return self._result

    def histogram_counts(self) -> dict[str, np.ndarray]:
        """The bar heights shown: ``{"noise": counts, "real": counts}`` over :meth:`bin_edges`."""
        return {name: counts.copy() for name, counts in self._counts.items()}

    def bin_edges(self) -> np.ndarray:
        return self._edges.copy()

    def summary_text(self) -> str:
        return self._summary.text()

    @Slot()
    def run_comparison(self) -> ComparisonResult | None:
        """Compare noise with real digits now; returns the result (None without a network)."""
        if self._network is None:
            self._summary.setText("Load or train a network first.")
            return None
        result = compare(self._network, self.kind(), self._rng, self._real_images, self._real_labels)
        self._show(result)
        self.comparisonFinished.emit(result)
        return result

    # --------------------------------------------------------------- internals
    def _show(self, result: ComparisonResult) -> None:
        self._result = result
        self._stale = False
        for name, values, curve, median, line in (
            ("noise", result.noise_top, self._noise_curve, result.noise_median, self._noise_median),
            ("real", result.real_top, self._real_curve, result.real_median, self._real_median),
        ):
            counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=self._edges)
            self._counts[name] = counts
            curve.setData(self._edges, counts)
            line.setVisible(bool(values.size))
            if values.size:
                line.setValue(median)
        what = "top probability" if result.output_activation == "softmax" else "top output"
        self._plot.setLabel("bottom", f"{what} (the winning neuron's value)")
        self._plot.setYRange(0, max(1, max(c.max() for c in self._counts.values())) * 1.1, padding=0)
        self._summary.setText(result.summary())

    def _update_controls(self) -> None:
        ready = self._network is not None
        self._compare_button.setEnabled(ready)
        if not ready:
            self._compare_button.setToolTip("Load or train a network first.")
        elif self._real_images is None:
            self._compare_button.setToolTip(
                f"Feed {SAMPLES:,} noise images through the network (no real digits were given to compare with)."
            )
        else:
            self._compare_button.setToolTip(
                f"Feed {SAMPLES:,} noise images and {min(SAMPLES, len(self._real_images)):,} real digits "
                "through the network and compare how sure it looks."
            )

    @Slot()
    def _on_feed_clicked(self) -> None:
        kind = self.kind()
        if kind == "all":
            kind = str(self._rng.choice(NOISE_KINDS))
        self.noiseRequested.emit(kind)

    # ----------------------------------------------------------------- theme
    def _restyle(self) -> None:
        style.style_plot(self._plot, self.palette())
        color = style.text_color(self.palette())
        self._legend.setLabelTextColor(color)
        for _sample, label in self._legend.items:
            label.setText(label.text, color=color)  # setLabelTextColor alone does not re-render
        self._legend.setBrush(style.with_alpha(style.plot_background(self.palette()), 200))
        self._legend.setPen(style.muted_color(self.palette(), 0.3))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


__all__ = [
    "ComparisonResult",
    "NoisePanel",
    "compare",
    "noise_batch",
    "KIND_CHOICES",
    "SAMPLES",
    "THRESHOLD",
]
