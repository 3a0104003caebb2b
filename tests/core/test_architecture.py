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


#: The largest network the limits allow, within 2,000 of MAX_PARAMETERS (49,998,427 weights and biases).
LARGEST = (784, 4096, 4096, 4096, 3219, 10)


@pytest.mark.parametrize("sizes", [(784, 10), (784, 11), (784, 16, 16, 10), (784,) + (1024,) * 8 + (11,), LARGEST])
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
        ((784,) + (4096,) * 8 + (10,), "120,725,514 weights and biases"),
        ((784, 4096, 4096, 4096, 3220, 10), "over the limit of 50,000,000"),
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
        (",".join(["4096"] * 8), "weights and biases"),  # the form's largest choices: 485 MB
        ("4096,4096,4096,4096", "use fewer or smaller hidden layers"),
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


def test_the_parameter_cap_fits_the_model_file_limit():
    assert architecture.parameter_count(DEFAULT_SIZES) == Network.create().n_parameters == 13_002
    assert 0 < architecture.MAX_PARAMETERS - architecture.parameter_count(LARGEST) < 2_000
    # float32 parameters, the largest metadata and an .npy header per array: what the loader unpacks.
    headers = 128 * 2 * (architecture.MAX_LAYERS - 1)
    assert 4 * architecture.MAX_PARAMETERS + 1024 * 1024 + headers <= model_io.MAX_FILE_BYTES


def test_the_largest_network_allowed_is_saved_and_opened_again(tmp_path):
    """Every network the form and --layers accept can be stored and read back (200 MB unpacked)."""
    check_sizes(LARGEST)
    weights = [np.zeros((n_out, n_in), np.float32) for n_in, n_out in zip(LARGEST[:-1], LARGEST[1:])]
    biases = [np.zeros(n_out, np.float32) for n_out in LARGEST[1:]]
    weights[-1][3, 5] = biases[0][7] = 0.25  # zeros compress to little on disk but unpack in full
    net = Network(LARGEST, "relu", "cross_entropy", weights, biases)
    del weights, biases
    path = tmp_path / "largest.npz"
    model_io.save_model(path, net)
    loaded, meta = model_io.load_model(path)
    assert loaded.sizes == LARGEST and meta["sizes"] == list(LARGEST)
    assert loaded.weights[-1][3, 5] == 0.25 and loaded.biases[0][7] == 0.25


def test_a_model_file_declaring_too_many_parameters_is_refused_before_its_arrays_are_read(tmp_path):
    import io
    import json
    import zipfile

    sizes = [784] + [4096] * 8 + [10]
    meta = {"format": model_io.FORMAT, "format_version": model_io.FORMAT_VERSION, "sizes": sizes,
            "activation": "relu", "cost": "cross_entropy"}
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:  # only the header: its arrays would be 483 MB
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        archive.writestr("meta.npy", buffer.getvalue())
    with pytest.raises(model_io.ModelFileError, match="120,725,514 weights and biases"):
        model_io.load_model(path)
