"""The multilayer perceptron that DigitLab trains and shows.

How it works, for learners
--------------------------
A 28x28 image is flattened into 784 numbers between 0 and 1: the input layer,
``a^0``. Each following layer ``l`` computes, for every neuron ``j``::

    z^l_j = sum_k w^l_jk * a^(l-1)_k + b^l_j        (the weighted input)
    a^l_j = f(z^l_j)                               (the activation)

where ``w`` are the weights, ``b`` the biases and ``f`` a squashing function
(sigmoid, as in 3Blue1Brown's video, or ReLU / tanh). Row ``j`` of the first
weight matrix holds 784 numbers, one per pixel, so it can be shown as a 28x28
image: what neuron ``j`` "looks for".

The output layer has one neuron per digit (10; 11 with a "none of these"
output). With the video's setup they use the sigmoid and the cost is the
squared error ``C = 1/2 * sum((a^L - y)**2)`` against the wanted answer ``y``
(1 for the right digit, 0 elsewhere). The alternative is softmax outputs
(they sum to 1) with the cross-entropy cost ``C = -sum(y * log(a^L))``. The
output layer's weighted inputs ``z^L`` are the *logits* (:meth:`Network.logits`).

Learning means lowering the cost averaged over many examples. Backpropagation
computes how the cost changes with every weight and bias (the gradient), from
the output layer back to the first, with the four equations of Nielsen's
chapter 2. Call ``delta^l = dC/dz^l`` the error of layer ``l``; then::

    BP1  delta^L = dC/da^L * f'(z^L)                the output layer's error
    BP2  delta^l = (w^(l+1)^T delta^(l+1)) * f'(z^l)  passed back one layer
    BP3  dC/db^l_j  = delta^l_j
    BP4  dC/dw^l_jk = a^(l-1)_k * delta^l_j

(``*`` multiplies element by element.) Gradient descent then takes a small
step downhill: ``w -= learning_rate * dC/dw``, and the same for ``b``.

Everything here works on a whole mini-batch at once: inputs are the rows of
a matrix, so each layer is one matrix product, ``Z = A @ W.T + b``, and BP2
becomes ``Delta @ W``. :mod:`digitlab.core.textbook` has the same maths
written plainly, one equation per line; the tests check that both agree. The
code below is faster because it works in place in preallocated buffers.

Shapes: ``weights[l]`` is ``(sizes[l + 1], sizes[l])`` and ``biases[l]`` is
``(sizes[l + 1],)``; a batch of inputs is ``(n, sizes[0])``. All float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The limits and names live in architecture.py; parse_layers is re-exported
# because `digitlab train --layers` imports it from here.
from digitlab.core.architecture import (  # noqa: F401 (parse_layers: re-exported)
    ACTIVATIONS,
    COSTS,
    DEFAULT_SIZES,
    check_architecture,
    parse_layers,
)
from digitlab.core.flat_parameters import split_parameters

DTYPE = np.float32


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The logistic function, ``sigmoid(z) = 1 / (1 + e^-z) = (1 + tanh(z / 2)) / 2``.

    Both forms are the same function (multiply the first by ``e^(z/2)`` above
    and below). The tanh form is used because ``e^-z`` overflows for large
    negative ``z`` (float32 gives up below -88), while tanh simply tends to -1.

    ``out=z`` computes it in place (training does, to save allocations).
    """
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5  # (1 + t) / 2 as 0.5 * t + 0.5
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
    """``delta *= f'(z)`` in place, with f'(z) written through ``a = f(z)`` so no z is kept.

    sigmoid' = a (1 - a), tanh' = 1 - a^2, ReLU' = 1 where a > 0, else 0.
    """
    if activation == "relu":
        delta *= a > 0
        return
    slope = a * a
    if activation == "sigmoid":
        np.subtract(a, slope, out=slope)  # a - a^2 = a (1 - a)
    else:
        np.subtract(1, slope, out=slope)  # 1 - a^2
    delta *= slope


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
        total = sum(n_in * n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])) + sum(self.sizes[1:])
        flat = np.zeros(total, dtype=self.dtype)
        weights, biases = split_parameters(flat, self.sizes)
        return flat, list(weights), list(biases)

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
    def _as_batch(self, x) -> tuple[np.ndarray, bool]:
        """``x`` as a checked ``(n, inputs)`` batch of the network's dtype, and whether it was one image."""
        x = np.asarray(x, dtype=self.dtype)
        single = x.ndim == 1 or (x.shape == (28, 28) and self.sizes[0] == 784)
        batch = x.reshape(1, -1) if single else x
        if batch.ndim != 2 or batch.shape[1] != self.sizes[0]:
            raise ValueError(f"input has shape {x.shape}; the network expects {self.sizes[0]} values per image")
        return batch, single

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's activations ``[input, hidden 1, ..., output]`` for one image or a batch.

        ``x`` is ``(784,)`` or ``(28, 28)`` for one image (each activation is
        then 1-D) or ``(n, 784)`` for a batch (each is then 2-D).
        """
        batch, single = self._as_batch(x)
        activations = self._forward_batch(batch)
        if single:
            return [a[0] for a in activations]
        return activations

    def _forward_batch(self, a: np.ndarray, masks=None, unmasked=None) -> list[np.ndarray]:
        """Forward pass of a checked ``(n, inputs)`` batch; the hot path of training.

        Dropout ``masks`` multiply the hidden activations; the unmasked ones
        are appended to the list ``unmasked`` (backprop's f'(z) needs them).
        """
        activations = [a]
        hidden = _FORWARD[self.activation]
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T  # z^l = w^l a^(l-1) + b^l, one row per example
            z += b
            # The activation overwrites z: backprop needs only a = f(z) (see
            # _multiply_by_derivative), and a new array per layer costs time.
            if layer < last:
                a = hidden(z, out=z)
                if masks is not None:
                    unmasked.append(a)
                    a = a * masks[layer]
            else:
                a = softmax(z) if self.cost == "cross_entropy" else sigmoid(z, out=z)
            activations.append(a)
        return activations

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output activations only (one value per output neuron, per image)."""
        return self.forward(x)[-1]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The output layer's weighted inputs ``z^L``, before sigmoid or softmax.

        ``predict(x)`` is ``sigmoid(logits(x))`` or ``softmax(logits(x))``.
        Logits are not squashed into [0, 1], so they keep growing where the
        outputs saturate: the quantity to climb when asking what input makes
        a neuron fire most. ``x`` is one image ``(784,)`` or ``(28, 28)``,
        giving ``(outputs,)``, or a batch ``(n, 784)``, giving ``(n, outputs)``.
        """
        batch, single = self._as_batch(x)
        z = self._logits_batch(batch)[0]
        return z[0] if single else z

    def _logits_batch(self, a: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits of a checked batch, and the activations of the input and hidden layers."""
        activations = [a]
        hidden = _FORWARD[self.activation]
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            a = hidden(a @ w.T + b)
            activations.append(a)
        return a @ self.weights[-1].T + self.biases[-1], activations

    def input_gradient(self, x: np.ndarray, output_index, of: str = "logit") -> np.ndarray:
        """How one output changes with every input pixel: ``d z^L_i / d x`` (or ``d a^L_i / d x``).

        Backpropagation as in :meth:`gradients`, but carried one layer
        further, to the input, and started from a single output instead of
        the cost: ``delta^L`` is 1 for output ``i`` and 0 elsewhere (times
        the output activation's slope when ``of="output"``), then BP2 runs
        down to the first layer and ``delta^1 @ w^1`` is the answer.

        Parameters
        ----------
        x : ndarray
            One image ``(784,)`` or ``(28, 28)``, or a batch ``(n, 784)``.
        output_index : int or array of int
            The output neuron ``i``; an array gives one per image of a batch.
        of : {"logit", "output"}
            The output's weighted input ``z^L_i`` or its activation ``a^L_i``.

        Returns
        -------
        ndarray
            The gradient, shaped like the batch: ``(784,)`` for one image
            (also for a 28x28 one), ``(n, 784)`` for a batch.
        """
        if of not in ("logit", "output"):
            raise ValueError(f"of must be 'logit' or 'output', got {of!r}")
        batch, single = self._as_batch(x)
        outputs = self.sizes[-1]
        index = np.broadcast_to(np.asarray(output_index), (len(batch),))
        if index.dtype.kind not in "iu" or np.any((index < 0) | (index >= outputs)):
            raise ValueError(f"output_index must be whole numbers from 0 to {outputs - 1}, got {output_index!r}")
        z, activations = self._logits_batch(batch)
        rows = np.arange(len(batch))
        delta = np.zeros_like(z)
        delta[rows, index] = 1  # d z_i / d z
        if of == "output":
            if self.cost == "cross_entropy":
                a = softmax(z)  # d a_i / d z_j = a_i (1[i = j] - a_j)
                delta = a[rows, index][:, None] * (delta - a)
            else:
                a = sigmoid(z)  # d a_i / d z_i = a_i (1 - a_i)
                delta *= a * (1 - a)
        for layer in range(len(self.weights) - 1, 0, -1):
            delta = delta @ self.weights[layer]  # BP2, without the slope yet
            _multiply_by_derivative(self.activation, delta, activations[layer])
        gradient = delta @ self.weights[0]
        return gradient[0] if single else gradient

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
    def gradients(self, x: np.ndarray, targets: np.ndarray, masks=None):
        """Cost and its gradient for a batch, by backpropagation.

        Parameters
        ----------
        x : ndarray, shape (n, sizes[0])
        targets : ndarray, shape (n, sizes[-1])
            One-hot wanted outputs.
        masks : list of ndarray, optional
            Dropout masks: the cost and gradient of the thinned network they pick.

        Returns
        -------
        loss : float
            Mean cost over the batch.
        grad_w, grad_b : list of ndarray
            Derivatives of the mean cost, same shapes as weights and biases.
        """
        x = np.atleast_2d(np.asarray(x, dtype=self.dtype))
        loss = self._backprop(x, np.asarray(targets, dtype=self.dtype), masks)
        n = len(x)  # _backprop leaves the gradient of the batch's sum, not mean
        return loss, [g / n for g in self._grad_w], [g / n for g in self._grad_b]

    def _backprop(self, x: np.ndarray, targets: np.ndarray, masks=None) -> float:
        """Fill the flat gradient buffer for a batch; return the batch's mean cost.

        The buffer gets the gradient of the cost *summed* over the batch; the
        caller divides by the batch size (folded into the learning rate, which
        saves a pass over the arrays on the hot path).
        """
        unmasked = [x] if masks is not None else None
        activations = self._forward_batch(x, masks, unmasked)
        output = activations[-1]
        n = output.shape[0]
        delta = output - targets  # dC/da^L for the squared error; see BP1 below
        if self.cost == "cross_entropy":
            # The tiny floor keeps log finite when a softmax output underflows to 0.
            loss = -float(np.vdot(targets, np.log(np.maximum(output, 1e-30)))) / n
            # BP1 with softmax and cross-entropy: the softmax Jacobian cancels
            # against dC/da^L = -y / a, leaving delta^L = a^L - y.
        else:
            loss = 0.5 * float(np.vdot(delta, delta)) / n
            _multiply_by_derivative("sigmoid", delta, output)  # BP1: delta^L = (a^L - y) * sigmoid'(z^L)
        ones = self._ones(n)
        for layer in range(len(self.weights) - 1, -1, -1):
            # BP4: dC/dw^l = delta^l (a^(l-1))^T, summed over the batch by the product.
            np.matmul(delta.T, activations[layer], out=self._grad_w[layer])
            # BP3: dC/db^l = delta^l, summed over the batch. A product with ones:
            # np.sum(axis=0) costs several times more on these small arrays.
            np.matmul(ones, delta, out=self._grad_b[layer])
            if layer > 0:
                # BP2: delta^(l-1) = (w^l)^T delta^l * f'(z^(l-1)); a new array,
                # as the layer below has another size.
                delta = delta @ self.weights[layer]
                if masks is not None:  # a dropped neuron passes no error back
                    delta *= masks[layer - 1]
                    _multiply_by_derivative(self.activation, delta, unmasked[layer])
                else:
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
        masks=None,
    ) -> float:
        """One step of gradient descent on a mini-batch, in place.

        With momentum ``m`` the step is ``v = m*v - lr*g; w += v``. L2 weight
        decay adds ``weight_decay * w`` to the weights' gradient (not the
        biases'), pulling unused weights towards zero. Dropout ``masks`` thin
        the hidden layers for this step only.

        Parameters
        ----------
        x : ndarray, shape (n, sizes[0]), the network's dtype
        targets : ndarray, shape (n, sizes[-1])
            One-hot wanted outputs.
        masks : list of ndarray, optional
            One per hidden layer, shaped like its activations (see
            :func:`digitlab.core.training.dropout_masks`); None: no dropout.

        Returns
        -------
        float
            The batch's mean cost before the step.
        """
        loss = self._backprop(x, targets, masks)
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
        self.last_update = grad, (self._velocity if momentum else grad)  # (lr*gradient, +-step): for plots
        return loss
