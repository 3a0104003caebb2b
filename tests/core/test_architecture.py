"""Layer limits and parsing live in one module; files, training and the form agree with it."""

import numpy as np
import pytest

from digitlab.core import architecture, model_io, network
from digitlab.core.architecture import (
    ALLOWED_OUTPUTS,
    DEFAULT_SIZES,
    ArchitectureError,
    check_architecture,
    check_sizes,
    parse_hidden_layers,
    parse_layers,
    sizes_problem,
)
from digitlab.core.datasets import DataSplit, one_hot
from digitlab.core.network import Network
from digitlab.core.training import TrainingConfig, train


def test_the_contract_values():
    assert architecture.INPUT_SIZE == 784
    assert architecture.DEFAULT_OUTPUTS == 10 and ALLOWED_OUTPUTS == (10, 11)
    assert (architecture.MIN_LAYERS, architecture.MAX_LAYERS, architecture.MAX_HIDDEN_LAYERS) == (2, 10, 8)
    assert architecture.MAX_LAYER_SIZE == 4096
    assert DEFAULT_SIZES == (784, 16, 16, 10)
    assert issubclass(ArchitectureError, ValueError)


def test_other_modules_use_these_limits_not_copies():
    # Old names stay importable where other code reads them, and are the same objects.
    assert network.ACTIVATIONS is architecture.ACTIVATIONS and network.COSTS is architecture.COSTS
    assert network.parse_layers is parse_layers
    assert model_io.check_sizes is check_sizes
    assert model_io.MAX_LAYERS == architecture.MAX_LAYERS


@pytest.mark.parametrize("sizes", [(784, 10), (784, 11), (784, 16, 16, 10), (784,) + (4096,) * 8 + (11,)])
def test_allowed_sizes(sizes):
    assert sizes_problem(list(sizes)) is None
    check_sizes(sizes)


@pytest.mark.parametrize(
    "sizes, words",
    [
        ((784,), "2 to 10 layers"),
        ((784,) + (5,) * 9 + (10,), "2 to 10 layers"),
        ((784, 9), "10 or 11"),
        ((784, 12), "10 or 11"),
        ((783, 10), "input layer must have 784"),
        ((784, 5000, 10), "1 to 4096"),
        ((784, 0, 10), "1 to 4096"),
        ([784, 16.0, 10], "whole numbers"),
        ([784, True, 10], "whole numbers"),
        ("784,10", "whole numbers"),
    ],
)
def test_refused_sizes(sizes, words):
    assert words in sizes_problem(sizes)
    with pytest.raises(ArchitectureError, match=words):
        check_sizes(sizes)


def test_check_architecture_accepts_small_networks_and_refuses_nonsense():
    check_architecture((4, 3, 2), "tanh", "cross_entropy")  # tests build networks like this
    for sizes, activation, cost, words in [
        ((4,), "sigmoid", "mse", "at least an input"),
        ((4, 0, 2), "sigmoid", "mse", "positive"),
        ((4, 2), "swish", "mse", "unknown activation"),
        ((4, 2), "sigmoid", "hinge", "unknown cost"),
    ]:
        with pytest.raises(ArchitectureError, match=words):
            check_architecture(sizes, activation, cost)


def test_parse_layers():
    assert parse_layers("784, 16,16,10") == (784, 16, 16, 10)
    for bad in ("784,sixteen,10", "784", "784,-3,10", ""):
        with pytest.raises(ArchitectureError):
            parse_layers(bad)


@pytest.mark.parametrize("text", ["784,,10", "784,16,,10", ",784,10", "784,10,", "784, ,10"])
def test_parse_layers_refuses_an_empty_part(text):
    # Issue 13 item 13: "784,,10" used to become a 784-10 network silently.
    with pytest.raises(ArchitectureError, match="empty size"):
        parse_layers(text)


def test_cli_layers_option_refuses_an_empty_part():
    import argparse

    from digitlab.cli.common import layers

    with pytest.raises(argparse.ArgumentTypeError, match="empty size"):
        layers("784,,10")


def test_parse_hidden_layers():
    assert parse_hidden_layers("16, 16") == (784, 16, 16, 10)
    assert parse_hidden_layers("") == (784, 10)
    assert parse_hidden_layers("30", outputs=11) == (784, 30, 11)
    assert parse_hidden_layers(",".join(["5"] * 8)) == (784,) + (5,) * 8 + (10,)
    for text, words in [
        ("16,,16", "whole numbers"),
        ("16.5", "whole numbers"),
        ("²", "whole numbers"),
        ("-3", "whole numbers"),
        (",".join(["5"] * 9), "at most 8"),
        ("0", "1 to 4096"),
        ("4097", "1 to 4096"),
    ]:
        with pytest.raises(ArchitectureError, match=words):
            parse_hidden_layers(text)
    with pytest.raises(ArchitectureError, match="outputs"):
        parse_hidden_layers("16", outputs=12)


def test_eleven_outputs_train_save_and_load(tmp_path):
    """The "none of these" lesson needs an 11th output, in training and in files."""
    rng = np.random.default_rng(0)
    net = Network.create((784, 8, 11), "sigmoid", "cross_entropy", rng=rng)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 11, size=40)
    assert one_hot(labels, 11).shape == (40, 11)
    data = DataSplit(images[:30], labels[:30], images[30:], labels[30:])
    records = list(train(net, data, TrainingConfig(learning_rate=0.1, epochs=1), min_interval=0))
    assert records[-1].kind == "finished"
    path = tmp_path / "eleven.npz"
    model_io.save_model(path, net)
    loaded, meta = model_io.load_model(path)
    assert loaded.sizes == (784, 8, 11) and meta["sizes"] == [784, 8, 11]
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    assert loaded.predict(images[0] / 255).shape == (11,)
