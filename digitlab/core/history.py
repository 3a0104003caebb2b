"""A model's training history: batch losses, their smoothing, per-epoch results.

The window's learning curves, the CSV export and the metadata saved with a
model all read one :class:`History`. A batch loss is noisy (ten examples say
little about the whole data set), so a smoothed curve is drawn over it: an
exponential moving average over roughly the last :data:`SMOOTHING_WINDOW`
batches, bias-corrected so that it starts at the first loss rather than at 0.

:func:`model_metadata` is the one shape of the facts saved with a model,
whether the window or ``digitlab train`` made it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from collections.abc import Mapping

import numpy as np

from digitlab.core.fileio import FileProblem, plain_reason, write_bytes_atomically
from digitlab.core.peaks import PeakSeries

__all__ = [
    "SMOOTHING_WINDOW",
    "EMA_BETA",
    "CSV_COLUMNS",
    "EPOCH_KEYS",
    "HISTORY_ROW_KEYS",
    "PLOT_COLUMNS",
    "PLOT_BUCKETS",
    "History",
    "smooth",
    "model_metadata",
]

#: The smoothed loss averages over roughly this many recent batches.
SMOOTHING_WINDOW = 50
#: Weight of the past in the moving average, ``1 - 1 / SMOOTHING_WINDOW``.
EMA_BETA = 1 - 1 / SMOOTHING_WINDOW
#: The last two came later (at the end, so readers of the first eight still work):
#: the lengths of each batch's gradient and step, ``nan`` where unknown.
CSV_COLUMNS = (
    "batch", "loss", "smoothed_loss", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
    "grad_norm", "step_norm",
)
#: The statistics of one epoch, as :meth:`History.add_epoch` takes them.
EPOCH_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
_EPOCH_VALUES = EPOCH_KEYS[1:]
#: The per-batch columns :meth:`History.plot_points` gives, decimated for plotting.
PLOT_COLUMNS = ("loss", "smoothed_loss", "grad_norm", "step_norm")
#: Up to this many batches the plotted points are the values themselves; beyond, at most twice as many points.
PLOT_BUCKETS = 2048
#: The keys of each row of a saved model's "history" (None where unknown).
HISTORY_ROW_KEYS = ("epoch", "batch", "seconds", *_EPOCH_VALUES)


def _ema(values, beta: float, ema: float = 0.0, count: int = 0) -> tuple[np.ndarray, float, int]:
    """Continue a bias-corrected moving average over ``values``; also return its new state."""
    smoothed = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):  # a recurrence: each value needs the previous one
        ema = beta * ema + (1 - beta) * float(value)
        count += 1
        # Dividing by 1 - beta^count undoes the pull towards the starting 0.
        smoothed[i] = ema / (1 - beta**count)
    return smoothed, ema, count


def smooth(values, window: int = SMOOTHING_WINDOW) -> np.ndarray:
    """Bias-corrected exponential moving average over about ``window`` values.

    ``s_t = m_t / (1 - beta**t)`` with ``m_t = beta * m_{t-1} + (1 - beta) * x_t``,
    ``m_0 = 0`` and ``beta = 1 - 1 / window``; so ``s_1 = x_1``, and a constant
    input gives itself back.

    Parameters
    ----------
    values : array_like of float
    window : int
        At least 1; 1 returns the values unchanged.

    Returns
    -------
    ndarray of float64, the same length as ``values``.
    """
    if window < 1:
        raise ValueError(f"the smoothing window must be at least 1, got {window}")
    return _ema(np.asarray(values, dtype=np.float64).ravel(), 1 - 1 / window)[0]


class _GrowingArray:
    """float64 values in a buffer that doubles when full, so appends stay cheap."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        needed = self.size + len(values)
        if needed > len(self._data):
            self._data = np.resize(self._data, max(needed, 2 * len(self._data)))
        self._data[self.size : needed] = values
        self.size = needed

    def clear(self) -> None:
        self.size = 0

    def copy(self) -> np.ndarray:
        # A copy, not a view: clear() and extend() reuse the buffer, and a plot
        # keeps references to the arrays it is given.
        return self._data[: self.size].copy()


class History:
    """Batch losses (raw and smoothed) and per-epoch statistics of one model's training.

    Batches are numbered from 1 in the order their losses were added; an
    epoch is remembered with the number of the batch it ended at.
    """

    def __init__(self) -> None:
        self._losses = _GrowingArray()
        self._smoothed = _GrowingArray()
        self._grad_norms = _GrowingArray()
        self._step_norms = _GrowingArray()
        self._ema = 0.0
        self._ema_count = 0
        self._epochs: list[dict] = []
        # The same columns, short enough to plot however long the run (see digitlab.core.peaks).
        self._plotted = {column: PeakSeries(PLOT_BUCKETS) for column in PLOT_COLUMNS}

    # ------------------------------------------------------------ adding
    def add_losses(self, losses, grad_norms=None, step_norms=None) -> None:
        """Append mini-batch losses, in order (NaN and inf are kept: a run may diverge).

        ``grad_norms`` and ``step_norms``, when given, are the lengths of each
        of these batches' gradient and step (``Progress.grad_norms`` and
        ``step_norms``); missing ones are recorded as NaN.
        """
        losses = np.asarray(losses, dtype=np.float64).ravel()
        if len(losses) == 0:
            return
        norms = []
        for values in (grad_norms, step_norms):
            values = np.full(len(losses), np.nan) if values is None else np.asarray(values, np.float64).ravel()
            if len(values) != len(losses):
                raise ValueError(f"{len(values)} norms for {len(losses)} losses")
            norms.append(values)
        smoothed, self._ema, self._ema_count = _ema(losses, EMA_BETA, self._ema, self._ema_count)
        self._losses.extend(losses)
        self._smoothed.extend(smoothed)
        self._grad_norms.extend(norms[0])
        self._step_norms.extend(norms[1])
        for column, values in zip(PLOT_COLUMNS, (losses, smoothed, *norms)):
            self._plotted[column].extend(values)

    def add_epoch(self, stats: Mapping) -> None:
        """Append one epoch's statistics, at the current batch.

        Parameters
        ----------
        stats : mapping
            With the keys of :data:`EPOCH_KEYS` (``EpochStats.as_dict()`` has
            them); other keys are ignored.
        """
        missing = [key for key in EPOCH_KEYS if key not in stats]
        if missing:
            raise ValueError(f"epoch statistics lack {', '.join(missing)}")
        entry = {"epoch": int(stats["epoch"]), "batch": self._losses.size}
        entry.update((key, float(stats[key])) for key in _EPOCH_VALUES)
        self._epochs.append(entry)

    def clear(self) -> None:
        """Forget everything (another model is shown now)."""
        for column in (self._losses, self._smoothed, self._grad_norms, self._step_norms):
            column.clear()
        for series in self._plotted.values():
            series.clear()
        self._ema, self._ema_count = 0.0, 0
        self._epochs.clear()

    # ----------------------------------------------------------- reading
    @property
    def batches(self) -> int:
        """Number of mini-batch losses recorded."""
        return self._losses.size

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self._epochs)

    def batch_numbers(self) -> np.ndarray:
        """``1 .. batches`` as int64."""
        return np.arange(1, self._losses.size + 1, dtype=np.int64)

    def losses(self) -> np.ndarray:
        """A copy of the batch losses (float64)."""
        return self._losses.copy()

    def smoothed_losses(self) -> np.ndarray:
        """A copy of the smoothed losses: ``smooth(losses(), SMOOTHING_WINDOW)``."""
        return self._smoothed.copy()

    def grad_norms(self) -> np.ndarray:
        """A copy of each batch's gradient length (L2 norm over all parameters; NaN: unknown)."""
        return self._grad_norms.copy()

    def step_norms(self) -> np.ndarray:
        """A copy of each batch's step length, the norm of the change of the parameters (NaN: unknown)."""
        return self._step_norms.copy()

    def plot_points(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """One per-batch column as (batch, value) points to plot, at most about 4,000 of them.

        ``column`` is one of :data:`PLOT_COLUMNS`. Up to ``PLOT_BUCKETS``
        batches these are the values themselves; a longer run gives each
        bucket of consecutive batches' lowest and highest value
        (:class:`digitlab.core.peaks.PeakSeries`), so a redraw costs the
        same after a million batches as after a thousand.
        """
        return self._plotted[column].points()

    def epoch_table(self) -> dict[str, np.ndarray]:
        """Per-epoch columns: epoch and batch (int64), train/val loss and accuracy (float64)."""
        table = {key: np.array([e[key] for e in self._epochs], dtype=np.int64) for key in ("epoch", "batch")}
        for key in _EPOCH_VALUES:
            table[key] = np.array([e[key] for e in self._epochs], dtype=np.float64)
        return table

    def epoch_rows(self) -> list[dict]:
        """One dict per epoch (epoch, batch, losses, accuracies), JSON-safe: NaN and inf become None."""
        return [{key: _finite_or_none(value) for key, value in e.items()} for e in self._epochs]

    # ------------------------------------------------------------- files
    def to_csv(self) -> str:
        """The history as CSV: one row per mini-batch, epoch columns filled where an epoch ended.

        Floats are written with ``repr`` (exact round trip); ``nan`` and
        ``inf`` appear as such.
        """
        by_batch = {e["batch"]: e for e in self._epochs}
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        columns = (self.losses(), self.smoothed_losses(), self.grad_norms(), self.step_norms())
        for batch, (loss, smoothed, grad, step) in zip(self.batch_numbers(), zip(*columns)):
            row = [int(batch), repr(float(loss)), repr(float(smoothed))]
            epoch = by_batch.get(int(batch))
            if epoch is None:
                row += [""] * 5
            else:
                row += [epoch["epoch"]] + [repr(float(epoch[key])) for key in _EPOCH_VALUES]
            writer.writerow(row + [repr(float(grad)), repr(float(step))])
        return text.getvalue()

    def write_csv(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_csv` to ``path`` atomically.

        Raises
        ------
        FileProblem
            If the file cannot be written; an existing file is left as it was.
        """
        try:
            write_bytes_atomically(path, self.to_csv().encode("utf-8"))
        except OSError as err:
            raise FileProblem(path, f"cannot write: {plain_reason(err)}") from None


def _finite_or_none(value):
    """Plain Python numbers for JSON; NaN and infinity (not JSON) become None."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _hyperparameters(config) -> dict:
    """The TrainingConfig fields of ``config`` (a TrainingConfig or a mapping with those keys)."""
    from digitlab.core.training import TrainingConfig  # training imports the network: keep it lazy

    names = [f.name for f in dataclasses.fields(TrainingConfig)]
    if dataclasses.is_dataclass(config):
        values = dataclasses.asdict(config)
    elif isinstance(config, Mapping):
        values = config
    else:
        raise TypeError(f"config must be a TrainingConfig or a mapping, got {type(config).__name__}")
    return {name: _finite_or_none(values[name]) for name in names if name in values}


def model_metadata(
    *,
    data: str,
    train_examples: int,
    config,
    history_rows,
    made_by: str,
    name: str | None = None,
    network=None,
) -> dict:
    """What a saved model remembers about how it was made: the one schema.

    Parameters
    ----------
    data : str
        The training data: ``"sample"``, ``"mnist"`` or a folder.
    train_examples : int
        How many examples were trained on (after ``train_size``).
    config : TrainingConfig or mapping
        The run's hyperparameters; the TrainingConfig fields are kept.
    history_rows : sequence of mapping
        One row per epoch (``EpochStats.as_dict()`` or :meth:`History.epoch_rows`);
        each is saved with the keys of :data:`HISTORY_ROW_KEYS`, None where missing.
    made_by : str
        ``"digitlab train"`` or ``"DigitLab window"``, say.
    name : str, optional
        The model's name (the window uses the file name).
    network : Network, optional
        When given, its sizes, activation and cost are kept under
        ``"architecture"`` (save_model also stores them at the top level).

    Returns
    -------
    dict
        JSON-safe (NaN becomes None), with keys name, data, train_examples,
        epochs, train_loss, train_accuracy, val_loss, val_accuracy (of the
        last epoch; None without one), hyperparameters, architecture,
        history and made_by.
    """
    # Every row gets the same keys, whoever made it: the window knows the
    # batch an epoch ended at, the command line how long it took.
    rows = [{key: _finite_or_none(dict(row).get(key)) for key in HISTORY_ROW_KEYS} for row in history_rows]
    final = rows[-1] if rows else {}
    architecture = None
    if network is not None:
        architecture = {
            "sizes": [int(s) for s in network.sizes],
            "outputs": int(network.sizes[-1]),
            "activation": network.activation,
            "cost": network.cost,
        }
    return {
        "name": name,
        "data": str(data),
        "train_examples": int(train_examples),
        "epochs": len(rows),
        **{key: final.get(key) for key in _EPOCH_VALUES},
        "hyperparameters": _hyperparameters(config),
        "architecture": architecture,
        "history": rows,
        "made_by": made_by,
    }
