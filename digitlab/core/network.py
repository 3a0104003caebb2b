"""The multilayer perceptron that DigitLab trains and shows.

How it works, for learners
--------------------------
A 28x28 image is flattened into 784 numbers between 0 and 1: the input layer.
Each following layer computes, for every neuron ``j``::

    z_j = sum_k W[j, k] * a_k + b_j        a_j = f(z_j)

where ``a_k`` are the previous layer's activations, ``W`` the weights, ``b``
the biases and ``f`` a squashing function (sigmoid, as in 3Blue1Brown's video,
or ReLU / tanh). Row ``j`` of the first weight matrix holds 784 numbers, one per
pixel, so it can be shown as a 28x28 image: what neuron ``j`` "looks for".

The output layer has 10 neurons, one per digit. With the video's setup they
use the sigmoid and the cost is the squared error ``1/2 * sum((a - y)**2)``
against the wanted answer ``y`` (1 for the right digit, 0 elsewhere). The
alternative is softmax outputs (they sum to 1) with the cross-entropy cost.

Learning means lowering the cost averaged over many examples. Backpropagation
computes how the cost changes with every weight and bias (the gradient), from
the output layer back to the first; gradient descent then takes a small step
downhill. Everything here works on a whole mini-batch at once: inputs are rows
of a matrix, so each layer is one matrix product.

Shapes: ``weights[l]`` is ``(sizes[l + 1], sizes[l])`` and ``biases[l]`` is
``(sizes[l + 1],)``; a batch of inputs is ``(n, sizes[0])``. All float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The limits and names live in architecture.py; parse_layers is re-exported
# because `digitlab train --layers` imports it from here.
from digitlab.core.architecture import ACTIVATIONS, COSTS, DEFAULT_SIZES, check_architecture, parse_layers  # noqa: F401

DTYPE = np.float32


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function, written with tanh so large ``|z|`` cannot overflow.

    ``out=z`` computes it in place (training does, to save allocations).
    """
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum for numerical stability."""
    shifted = z - z.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, 0, out=out)


def _tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(z, out=out)


_FORWARD = {"sigmoid": sigmoid, "relu": _relu, "tanh": _tanh}


def _multiply_by_derivative(activation: str, delta: np.ndarray, a: np.ndarray) -> None:
    """delta *= f'(z), with f'(z) expressed through a = f(z) so no z is stored."""
    if activation == "relu":
        delta *= a > 0
        return
    square = a * a
    if activation == "sigmoid":
        np.subtract(a, square, out=square)  # a(1 - a)
    else:
        np.subtract(1, square, out=square)  # 1 - a^2
    delta *= square


def init_scale(activation: str, fan_in: int) -> float:
    """Standard deviation for initial weights suited to the activation.

    He initialisation (sqrt(2/fan_in)) keeps ReLU signals from fading;
    sigmoid and tanh use Xavier/LeCun (sqrt(1/fan_in)), which keeps the
    weighted sums in the squashing function's sensitive range.
    """
    gain = 2.0 if activation == "relu" else 1.0
    return float(np.sqrt(gain / fan_in))


@dataclass
class Network:
    """A fully connected network with one activation for all hidden layers.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first; default ``(784, 16, 16, 10)``.
    activation : {"sigmoid", "relu", "tanh"}
        Hidden-layer activation.
    cost : {"mse", "cross_entropy"}
        ``"mse"`` gives sigmoid outputs with the squared-error cost;
        ``"cross_entropy"`` gives softmax outputs with the cross-entropy cost.
    weights, biases : list of ndarray
        The parameters; use :meth:`create` for a freshly initialised network.
    """

    sizes: tuple[int, ...]
    activation: str
    cost: str
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    #: float32 for speed; tests use float64 to check gradients precisely.
    dtype: type = DTYPE

    def __post_init__(self) -> None:
        self.sizes = tuple(int(s) for s in self.sizes)
        check_architecture(self.sizes, self.activation, self.cost)
        if len(self.weights) != len(self.sizes) - 1 or len(self.biases) != len(self.weights):
            raise ValueError("need one weight matrix and one bias vector per layer")
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            expected = (self.sizes[layer + 1], self.sizes[layer])
            if np.shape(w) != expected or np.shape(b) != (expected[0],):
                raise ValueError(
                    f"layer {layer + 1}: weights {np.shape(w)} and biases {np.shape(b)} "
                    f"do not fit sizes {expected}"
                )
        # All parameters live in one flat buffer (weights first, then biases)
        # and weights[l] / biases[l] are views into it: a gradient-descent step
        # is then one vectorised operation instead of one per array, which
        # matters when a mini-batch takes only tens of microseconds.
        given = list(self.weights) + list(self.biases)
        self.parameters, self.weights, self.biases = self._flat_buffer()
        for view, values in zip(self.weights + self.biases, given):
            np.copyto(view, values, casting="unsafe")
        self._gradient, self._grad_w, self._grad_b = self._flat_buffer()
        self._velocity: np.ndarray | None = None
        self._ones_cache = np.ones(0, dtype=self.dtype)

    def _flat_buffer(self):
        """A zeroed flat array plus per-layer weight and bias views into it."""
        shapes_w = [(n_out, n_in) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        total = sum(r * c for r, c in shapes_w) + sum(self.sizes[1:])
        flat = np.zeros(total, dtype=self.dtype)
        views_w, views_b, offset = [], [], 0
        for rows, cols in shapes_w:
            views_w.append(flat[offset : offset + rows * cols].reshape(rows, cols))
            offset += rows * cols
        for rows, _ in shapes_w:
            views_b.append(flat[offset : offset + rows])
            offset += rows
        return flat, views_w, views_b

    @classmethod
    def create(
        cls,
        sizes=DEFAULT_SIZES,
        activation: str = "sigmoid",
        cost: str = "mse",
        rng: np.random.Generator | None = None,
    ) -> "Network":
        """A network with fresh random weights (normal, scaled per activation) and zero biases."""
        sizes = tuple(int(s) for s in sizes)
        check_architecture(sizes, activation, cost)
        rng = rng if rng is not None else np.random.default_rng()
        weights = [
            (rng.standard_normal((n_out, n_in)) * init_scale(activation, n_in)).astype(DTYPE)
            for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]
        biases = [np.zeros(n_out, dtype=DTYPE) for n_out in sizes[1:]]
        return cls(sizes, activation, cost, weights, biases)

    # ----------------------------------------------------------------- facts
    @property
    def n_parameters(self) -> int:
        """Number of weights and biases (13,002 for 784-16-16-10)."""
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    @property
    def output_activation(self) -> str:
        """``"sigmoid"`` or ``"softmax"``, decided by the cost."""
        return "softmax" if self.cost == "cross_entropy" else "sigmoid"

    def copy(self) -> "Network":
        """An independent copy of architecture and parameters (no momentum state)."""
        return Network(
            self.sizes,
            self.activation,
            self.cost,
            [w.copy() for w in self.weights],
            [b.copy() for b in self.biases],
            self.dtype,
        )

    def set_parameters(self, weights, biases) -> None:
        """Overwrite the parameters with ``weights`` and ``biases`` (same shapes)."""
        given = list(weights) + list(biases)
        mine = self.weights + self.biases
        if len(given) != len(mine) or any(np.shape(g) != m.shape for g, m in zip(given, mine)):
            raise ValueError("the parameters' shapes do not match this network")
        for view, values in zip(mine, given):
            np.copyto(view, values, casting="unsafe")
        self.reset_momentum()

    def reset_momentum(self) -> None:
        """Forget the momentum of past steps (e.g. after restoring old weights)."""
        self._velocity = None

    # --------------------------------------------------------------- forward
    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's activations for one image or a batch.

        Parameters
        ----------
        x : ndarray
            ``(784,)`` for one image (a 28x28 image is flattened) or ``(n, 784)``.

        Returns
        -------
        list of ndarray
            ``[input, hidden 1, ..., output]``, each 1-D for one image or 2-D
            for a batch.
        """
        x = np.asarray(x, dtype=self.dtype)
        single = x.ndim == 1 or (x.shape == (28, 28) and self.sizes[0] == 784)
        batch = x.reshape(1, -1) if single else x
        if batch.ndim != 2 or batch.shape[1] != self.sizes[0]:
            raise ValueError(f"input has shape {x.shape}; the network expects {self.sizes[0]} values per image")
        activations = self._forward_batch(batch)
        if single:
            return [a[0] for a in activations]
        return activations

    def _forward_batch(self, a: np.ndarray) -> list[np.ndarray]:
        """Forward pass of a checked ``(n, inputs)`` batch; the hot path of training."""
        activations = [a]
        hidden = _FORWARD[self.activation]
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T
            z += b
            if layer < last:
                a = hidden(z, out=z)
            else:
                a = softmax(z) if self.cost == "cross_entropy" else sigmoid(z, out=z)
            activations.append(a)
        return activations

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output activations only (10 values per image)."""
        return self.forward(x)[-1]

    # ------------------------------------------------------------------ cost
    def cost_value(self, output: np.ndarray, targets: np.ndarray) -> float:
        """Mean cost per example of ``output`` against one-hot ``targets``."""
        n = output.shape[0]
        if self.cost == "cross_entropy":
            # The tiny floor keeps log finite when a softmax output underflows to 0.
            return float(-np.sum(targets * np.log(np.maximum(output, 1e-30))) / n)
        diff = output - targets
        return float(0.5 * np.sum(diff * diff) / n)

    def evaluate(self, x: np.ndarray, labels: np.ndarray, chunk: int = 10_000) -> tuple[float, float]:
        """Mean cost and accuracy over a data set of inputs ``(n, 784)`` and integer labels."""
        if len(labels) == 0:
            return float("nan"), float("nan")
        total_cost, correct = 0.0, 0
        targets_eye = np.eye(self.sizes[-1], dtype=self.dtype)
        for start in range(0, len(labels), chunk):
            out = self.forward(x[start : start + chunk])[-1]
            lab = labels[start : start + chunk]
            total_cost += self.cost_value(out, targets_eye[lab]) * len(lab)
            correct += int(np.count_nonzero(out.argmax(axis=1) == lab))
        return total_cost / len(labels), correct / len(labels)

    # -------------------------------------------------------------- backprop
    def gradients(self, x: np.ndarray, targets: np.ndarray):
        """Cost and its gradient for a batch, by backpropagation.

        Parameters
        ----------
        x : ndarray, shape (n, sizes[0])
        targets : ndarray, shape (n, sizes[-1])
            One-hot wanted outputs.

        Returns
        -------
        loss : float
            Mean cost over the batch.
        grad_w, grad_b : list of ndarray
            Derivatives of the mean cost, same shapes as weights and biases.
        """
        x = np.atleast_2d(np.asarray(x, dtype=self.dtype))
        loss = self._backprop(x, np.asarray(targets, dtype=self.dtype))
        n = len(x)  # _backprop leaves the gradient of the batch's sum, not mean
        return loss, [g / n for g in self._grad_w], [g / n for g in self._grad_b]

    def _backprop(self, x: np.ndarray, targets: np.ndarray) -> float:
        """Fill the flat gradient buffer for a batch; return the batch's mean cost.

        The buffer gets the gradient of the cost *summed* over the batch; the
        caller divides by the batch size (folded into the learning rate, which
        saves a pass over the arrays on the hot path).
        """
        activations = self._forward_batch(x)
        output = activations[-1]
        n = output.shape[0]
        error = output - targets
        if self.cost == "cross_entropy":
            # The tiny floor keeps log finite when a softmax output underflows to 0.
            loss = -float(np.vdot(targets, np.log(np.maximum(output, 1e-30)))) / n
            # The softmax Jacobian cancels: the error at the weighted sums is a - y.
            delta = error
        else:
            loss = 0.5 * float(np.vdot(error, error)) / n
            _multiply_by_derivative("sigmoid", error, output)  # (a - y) * sigmoid'(z)
            delta = error
        ones = self._ones(n)
        for layer in range(len(self.weights) - 1, -1, -1):
            np.matmul(delta.T, activations[layer], out=self._grad_w[layer])
            # Column sums as a product with ones: np.sum(axis=0) costs several
            # times more on these small arrays (Python-level wrapper).
            np.matmul(ones, delta, out=self._grad_b[layer])
            if layer > 0:
                delta = delta @ self.weights[layer]
                _multiply_by_derivative(self.activation, delta, activations[layer])
        return loss

    def _ones(self, n: int) -> np.ndarray:
        """A cached vector of n ones (for summing a batch by matrix product)."""
        if len(self._ones_cache) != n:
            self._ones_cache = np.ones(n, dtype=self.dtype)
        return self._ones_cache

    def train_step(
        self,
        x: np.ndarray,
        targets: np.ndarray,
        learning_rate: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> float:
        """One step of gradient descent on a mini-batch, in place.

        With momentum ``m`` the step is ``v = m*v - lr*g; w += v``. L2 weight
        decay adds ``weight_decay * w`` to the weights' gradient (not the
        biases'), pulling unused weights towards zero.

        Parameters
        ----------
        x : ndarray, shape (n, sizes[0]), the network's dtype
        targets : ndarray, shape (n, sizes[-1])
            One-hot wanted outputs.

        Returns
        -------
        float
            The batch's mean cost before the step.
        """
        loss = self._backprop(x, targets)
        grad = self._gradient
        grad *= learning_rate / len(x)  # lr times the mean gradient
        if weight_decay:
            n_weights = sum(w.size for w in self.weights)  # weights come first in the buffer
            grad[:n_weights] += (learning_rate * weight_decay) * self.parameters[:n_weights]
        if momentum:
            if self._velocity is None:
                self._velocity = np.zeros_like(self.parameters)
            self._velocity *= momentum
            self._velocity -= grad
            self.parameters += self._velocity
        else:
            self.parameters -= grad
        return loss

