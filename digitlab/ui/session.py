"""The model session: the network the window shows, where it came from, what it sees.

One :class:`ModelSession` per window. Views subscribe to its signals instead
of the window pushing data into each of them:

- ``networkChanged`` -- another network was set, or new weights arrived
  (training snapshots, at most every ``LIVE_VIEW_MS`` of the window);
- ``inputChanged`` -- the 28x28 image the network looks at changed (a drawing,
  an opened picture, a noise image, or nothing);
- ``infoChanged`` -- name, file path or dirty flag changed (status bar, title).

The session keeps its *own copy* of the network: while training, only the
worker touches the network being trained, and the UI predicts from the
weights of the latest snapshot, copied in with :meth:`ModelSession.set_parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from digitlab.core.network import Network

#: What the 11th output means in the "none of these" lesson.
NONE_LABEL = "none"


def output_labels(count: int) -> list[str]:
    """Names of ``count`` output neurons: the digits 0-9, then "none" for an 11th."""
    return [str(i) if i < 10 else NONE_LABEL for i in range(count)]


@dataclass(frozen=True)
class Prediction:
    """One forward pass of the current input.

    ``activations`` is ``[input, hidden..., output]`` (as ``Network.forward``),
    ``outputs`` the last of them, ``logits`` the output layer's weighted sums
    ``z`` (before its activation function).
    """

    activations: list[np.ndarray]
    logits: np.ndarray

    @property
    def outputs(self) -> np.ndarray:
        return self.activations[-1]


class ModelSession(QObject):
    """The displayed network, its file, its unsaved state and the current input.

    Parameters
    ----------
    network : Network
        Copied: the session's network is never the one a worker trains.
    name : str
        What the status bar calls the model.
    path : Path, optional
        The file it was loaded from or saved to.
    bundled : str, optional
        The name of the bundled model it is (a key of
        ``digitlab.core.model_io.BUNDLED_MODELS``), if it is one.
    """

    networkChanged = Signal()
    inputChanged = Signal()
    infoChanged = Signal()

    def __init__(
        self,
        network: Network,
        name: str = "model",
        path: str | Path | None = None,
        parent: QObject | None = None,
        bundled: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._network = network.copy()
        self._name = name
        self._path = Path(path) if path is not None else None
        self._bundled = bundled
        self._baseline = network.copy()
        self._dirty = False
        self._input: np.ndarray | None = None
        self._input_source = ""
        self._prediction: Prediction | None = None  # cache, cleared when network or input change

    # ---------------------------------------------------------------- network
    @property
    def network(self) -> Network:
        """The displayed network (predict with it; do not train it)."""
        return self._network

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def name(self) -> str:
        return self._name

    @property
    def bundled(self) -> str | None:
        """The bundled model shown, unchanged ("default", "bigger"), or None.

        None once training has changed its weights or it was saved to a file.
        """
        return None if self._dirty else self._bundled

    @property
    def baseline(self) -> Network:
        """The network as it was last set or saved (a copy): what a training run started from."""
        return self._baseline.copy()

    @property
    def dirty(self) -> bool:
        """True while the shown weights differ from what was last saved or loaded."""
        return self._dirty

    @property
    def n_outputs(self) -> int:
        return self._network.sizes[-1]

    def set_network(
        self, network: Network, name: str, path: str | Path | None = None, dirty: bool = False,
        bundled: str | None = None,
    ) -> None:
        """Show another network (a copy of it); emits ``networkChanged`` and ``infoChanged``.

        ``bundled`` names the bundled model it is, if it is one.
        """
        self._network = network.copy()
        self._baseline = network.copy()
        self._name = name
        self._path = Path(path) if path is not None else None
        self._bundled = bundled
        self._dirty = bool(dirty)
        self._prediction = None
        self.networkChanged.emit()
        self.infoChanged.emit()

    def set_parameters(self, weights, biases, notify: bool = True) -> None:
        """Copy new weights into the displayed network (same architecture).

        With ``notify=False`` no signal is sent: predictions made from now on
        use the new weights, while the views wait for a later, throttled
        ``networkChanged`` (see :class:`digitlab.ui.live_view.LiveView`).
        """
        self._network.set_parameters(weights, biases)
        self._prediction = None
        if notify:
            self.networkChanged.emit()

    def notify_network_changed(self) -> None:
        """Tell the views the weights changed (after ``set_parameters(..., notify=False)``)."""
        self._prediction = None
        self.networkChanged.emit()

    def set_dirty(self, dirty: bool) -> None:
        if bool(dirty) != self._dirty:
            self._dirty = bool(dirty)
            self.infoChanged.emit()

    def set_saved(self, path: str | Path) -> None:
        """The model was written to ``path``: it takes the file's name and is no longer dirty."""
        self._path = Path(path)
        self._name = self._path.stem
        self._bundled = None  # it is a file of the user's now
        self._baseline = self._network.copy()
        self._dirty = False
        self.infoChanged.emit()

    # ------------------------------------------------------------------ input
    @property
    def current_input(self) -> np.ndarray | None:
        """The 28x28 float32 image in [0, 1] the network sees now (a copy), or None."""
        return None if self._input is None else self._input.copy()

    @property
    def input_source(self) -> str:
        """Where the current input came from: "drawing", "picture", "noise", or the lesson that fed it, such as "dream" ("" for none)."""
        return self._input_source

    def set_input(self, x28: np.ndarray | None, source: str = "drawing") -> None:
        """Look at another image (28x28 in [0, 1]) or at nothing; emits ``inputChanged``.

        ``source`` says where it came from ("drawing", "picture", "noise"), so
        the window can, say, clear the canvas when a lesson feeds noise.
        """
        if x28 is not None:
            x28 = np.asarray(x28, dtype=np.float32)
            if x28.shape != (28, 28):
                raise ValueError(f"the input must be a 28x28 image, got shape {x28.shape}")
            x28 = x28.copy()
            x28.flags.writeable = False  # views may keep it
        self._input = x28
        self._input_source = "" if x28 is None else source
        self._prediction = None
        self.inputChanged.emit()

    def prediction(self) -> Prediction | None:
        """The forward pass of the current input (computed once per input and weights), or None."""
        if self._input is None:
            return None
        if self._prediction is None:
            x = self._input.reshape(-1)
            activations = self._network.forward(x)
            self._prediction = Prediction(activations, self._network.logits(x))
        return self._prediction

    def predict(self) -> np.ndarray | None:
        """The network's outputs for the current input, or None without one."""
        prediction = self.prediction()
        return None if prediction is None else prediction.outputs


__all__ = ["ModelSession", "NONE_LABEL", "Prediction", "output_labels"]
