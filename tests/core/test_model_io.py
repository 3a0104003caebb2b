"""Model files: round trips, hostile and damaged files, atomic saves, the shipped model."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitlab.core import model_io
from digitlab.core.datasets import load_test_set, to_inputs
from digitlab.core.model_io import (
    ModelFileError,
    check_sizes,
    default_model_path,
    load_default_model,
    load_model,
    save_model,
)
from digitlab.core.network import ACTIVATIONS, COSTS, Network

SMALL = (784, 5, 10)


def make_network(sizes=SMALL, activation="sigmoid", cost="mse", seed=0) -> Network:
    network = Network.create(sizes, activation, cost, rng=np.random.default_rng(seed))
    # Non-zero biases, so a loader that mixed up or dropped them would be caught.
    for b in network.biases:
        b[:] = np.random.default_rng(seed + 1).normal(size=b.shape)
    return network


def meta_bytes(**overrides) -> np.ndarray:
    meta = {"format": "digitlab-model", "format_version": 1, "sizes": list(SMALL),
            "activation": "sigmoid", "cost": "mse"}
    meta.update(overrides)
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def good_arrays(sizes=SMALL) -> dict[str, np.ndarray]:
    network = make_network(sizes)
    arrays = {f"w{i}": w.copy() for i, w in enumerate(network.weights)}
    arrays.update({f"b{i}": b.copy() for i, b in enumerate(network.biases)})
    arrays["meta"] = meta_bytes(sizes=list(sizes))
    return arrays


def write_npz(path, arrays) -> None:
    """Write an archive directly with NumPy, bypassing save_model's checks."""
    np.savez(path, **arrays)


def assert_refused(path, *fragments: str) -> str:
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", COSTS)
def test_round_trip_every_activation_and_cost(tmp_path, activation, cost):
    network = make_network((784, 16, 16, 10), activation, cost)
    path = tmp_path / "model.npz"
    save_model(path, network, {"epochs": 3, "val_accuracy": np.float32(0.5), "history": [{"epoch": 1}]})
    loaded, meta = load_model(path)
    assert loaded.sizes == network.sizes
    assert (loaded.activation, loaded.cost) == (activation, cost)
    for mine, theirs in zip(network.weights + network.biases, loaded.weights + loaded.biases):
        np.testing.assert_array_equal(mine, theirs)
    x = np.random.default_rng(5).random((3, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    assert meta["epochs"] == 3 and meta["val_accuracy"] == 0.5 and meta["history"] == [{"epoch": 1}]
    assert meta["format"] == "digitlab-model" and meta["format_version"] == 1
    assert meta["sizes"] == [784, 16, 16, 10]
    assert meta["digitlab_version"] and meta["created"]


@settings(max_examples=15, deadline=None)
@given(hidden=st.lists(st.integers(1, 40), min_size=0, max_size=4), seed=st.integers(0, 2**16))
def test_round_trip_arbitrary_sizes(tmp_path_factory, hidden, seed):
    sizes = (784, *hidden, 10)
    network = make_network(sizes, seed=seed)
    path = tmp_path_factory.mktemp("models") / "m.npz"
    save_model(path, network)
    loaded, meta = load_model(path)
    assert loaded.sizes == sizes and meta["sizes"] == list(sizes)
    np.testing.assert_array_equal(loaded.parameters, network.parameters)


def test_architecture_keys_come_from_the_network(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, make_network(), {"sizes": [1, 2], "cost": "nonsense", "format_version": 99})
    _, meta = load_model(path)
    assert meta["sizes"] == list(SMALL) and meta["cost"] == "mse" and meta["format_version"] == 1


def test_resaving_loaded_metadata_keeps_it(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_model(first, make_network(), {"data": "sample", "created": "2020-01-01T00:00:00+00:00"})
    network, meta = load_model(first)
    save_model(second, network, meta)
    assert load_model(second)[1] == meta


def test_saved_file_needs_no_pickle(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, make_network())
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["b0", "b1", "meta", "w0", "w1"]
        assert archive["meta"].dtype == np.uint8


def test_save_refuses_unsaveable_networks(tmp_path):
    path = tmp_path / "m.npz"
    broken = make_network()
    broken.weights[0][0, 0] = np.nan
    with pytest.raises(ModelFileError, match="NaN"):
        save_model(path, broken)
    with pytest.raises(ModelFileError, match="input layer must have 784"):
        save_model(path, Network.create((100, 10), rng=np.random.default_rng(0)))
    with pytest.raises(ModelFileError, match="JSON"):
        save_model(path, make_network(), {"callback": object()})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_check_sizes():
    check_sizes((784, 16, 16, 10))
    check_sizes((784, 16, 11))  # the "none of these" output
    for bad in [(784,), (784, 9), (784, 12), (783, 10), (784, 5000, 10), (784,) + (5,) * 9 + (10,)]:
        with pytest.raises(ValueError):
            check_sizes(bad)


# ------------------------------------------------------- hostile and damaged


def test_missing_file_and_folder(tmp_path):
    assert_refused(tmp_path / "nope.npz", "no such file")
    assert_refused(tmp_path, "folder")


def test_not_a_zip(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("this is not a model\n")
    assert_refused(path, "not a DigitLab model")
    npy = tmp_path / "array.npz"
    np.save(npy.with_suffix(".npy"), np.zeros(3))
    os.replace(npy.with_suffix(".npy"), npy)
    assert_refused(npy, "not a DigitLab model")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_zip(tmp_path, keep):
    path = tmp_path / "model.npz"
    save_model(path, make_network((784, 16, 16, 10)))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert_refused(path)


def test_corrupted_member_data(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, make_network((784, 16, 16, 10)))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # zeros in the middle of the compressed weights
    path.write_bytes(bytes(data))
    assert_refused(path)


# A pickle that would leave a trace if it were ever unpickled.
_UNPICKLED_MARKER: list[str] = []


def _record_unpickling(text):
    _UNPICKLED_MARKER.append(text)
    return text


class _Trap:
    def __reduce__(self):
        return (_record_unpickling, ("unpickled!",))


@pytest.mark.parametrize("entry", ["w0", "meta"])
def test_pickle_inside_is_refused_without_unpickling(tmp_path, entry):
    arrays = good_arrays()
    arrays[entry] = np.array([_Trap(), _Trap()], dtype=object)
    path = tmp_path / "evil.npz"
    write_npz(path, arrays)
    _UNPICKLED_MARKER.clear()
    assert_refused(path, "pickle")
    assert _UNPICKLED_MARKER == []


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, value):
    arrays = good_arrays()
    arrays["w1"][2, 3] = value
    path = tmp_path / "nan.npz"
    write_npz(path, arrays)
    assert_refused(path, "w1", "NaN or infinity")


def test_float64_beyond_float32_range(tmp_path):
    arrays = good_arrays()
    arrays["b0"] = arrays["b0"].astype(np.float64)
    arrays["b0"][0] = 1e300
    path = tmp_path / "huge.npz"
    write_npz(path, arrays)
    assert_refused(path, "b0", "too large for float32")


def test_float64_arrays_are_accepted(tmp_path):
    arrays = {k: (v.astype(np.float64) if k != "meta" else v) for k, v in good_arrays().items()}
    path = tmp_path / "f64.npz"
    write_npz(path, arrays)
    network, _ = load_model(path)
    assert network.weights[0].dtype == np.float32
    np.testing.assert_allclose(network.weights[1], arrays["w1"], rtol=1e-6)


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("w0", np.zeros((5, 783), np.float32), "shape"),
        ("w1", np.zeros((5, 10), np.float32), "shape"),
        ("b1", np.zeros((10, 1), np.float32), "shape"),
        ("b0", np.zeros(5, np.int32), "floating point"),
        ("w0", np.zeros((5, 784), np.complex64), "floating point"),
    ],
)
def test_wrong_shapes_and_types(tmp_path, name, value, fragment):
    arrays = good_arrays()
    arrays[name] = value
    path = tmp_path / "bad.npz"
    write_npz(path, arrays)
    assert_refused(path, name, fragment)


@pytest.mark.parametrize("name", ["w0", "b1", "meta"])
def test_missing_arrays(tmp_path, name):
    arrays = good_arrays()
    del arrays[name]
    path = tmp_path / "missing.npz"
    write_npz(path, arrays)
    assert_refused(path, name)


def test_extra_entries_are_refused(tmp_path):
    arrays = good_arrays()
    arrays["w2"] = np.zeros((10, 10), np.float32)
    path = tmp_path / "extra.npz"
    write_npz(path, arrays)
    assert_refused(path, "unexpected", "w2")


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
    ],
)
def test_bad_json(tmp_path, raw, fragment):
    arrays = good_arrays()
    arrays["meta"] = np.frombuffer(raw, dtype=np.uint8)
    path = tmp_path / "json.npz"
    write_npz(path, arrays)
    assert_refused(path, fragment)


def test_meta_of_wrong_type(tmp_path):
    arrays = good_arrays()
    arrays["meta"] = np.zeros(4, np.float32)
    path = tmp_path / "meta.npz"
    write_npz(path, arrays)
    assert_refused(path, "meta")


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"format_version": 2}, "unsupported model format version 2"),
        ({"format_version": True}, "unsupported model format version"),
        ({"format_version": "1"}, "unsupported model format version"),
        ({"format": "something-else"}, "not a DigitLab model"),
        ({"activation": "softplus"}, "unknown activation 'softplus'"),
        ({"cost": "hinge"}, "unknown cost 'hinge'"),
        ({"sizes": [784, 10]}, "unexpected entries b1, w1"),
        ({"sizes": [784, 5, 5, 10]}, "missing array(s) b2, w2"),
        ({"sizes": [784, 5000, 10]}, "1 to 4096 neurons"),
        ({"sizes": [784] + [5] * 9 + [10]}, "2 to 10 layers"),
        ({"sizes": [100, 5, 10]}, "input layer must have 784"),
        ({"sizes": [784, 5, 9]}, "output layer must have 10"),
        ({"sizes": [784, 5.5, 10]}, "whole numbers"),
        ({"sizes": "784,5,10"}, "whole numbers"),
    ],
)
def test_bad_metadata(tmp_path, overrides, fragment):
    arrays = good_arrays()
    arrays["meta"] = meta_bytes(**overrides)
    path = tmp_path / "meta.npz"
    write_npz(path, arrays)
    assert_refused(path, fragment)


def test_file_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save_model(path, make_network())
    monkeypatch.setattr(model_io, "MAX_FILE_BYTES", path.stat().st_size - 1)
    assert_refused(path, "limit")


def test_unpacked_size_cap(tmp_path, monkeypatch):
    # A highly compressible entry: small on disk, large once unpacked (a zip bomb in miniature).
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.npy", b"\0" * 2_000_000)
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(model_io, "MAX_FILE_BYTES", 1_000_000)
    assert_refused(path, "unpacks to")


# ------------------------------------------------------------------ atomicity


def test_failed_replace_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, make_network(seed=1))
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ModelFileError, match="cannot write: no space left on the device$"):
        save_model(path, make_network(seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temp file left behind


def test_failure_while_writing_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, make_network(seed=1))
    before = path.read_bytes()

    def fail_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail_fsync)
    with pytest.raises(ModelFileError, match="cannot write: input/output error"):
        save_model(path, make_network(seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    monkeypatch.undo()
    load_model(path)


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match="cannot write"):
        save_model(tmp_path / "no" / "such" / "dir" / "m.npz", make_network())


def test_saved_model_gets_ordinary_permissions(tmp_path):
    # A model is a document to share: not the private 0o600 of a temp file.
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "m.npz"
    save_model(path, make_network())
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------- shipped model


def test_default_model_loads():
    network, meta = load_default_model()
    assert default_model_path().name == "default_model.npz"
    assert network.sizes == (784, 16, 16, 10)
    assert meta["format"] == "digitlab-model"


def test_default_model_accuracy_on_official_test_set(official_test_dir):
    network, _ = load_default_model()
    images, labels = load_test_set(official_test_dir)
    _, accuracy = network.evaluate(to_inputs(images), labels)
    assert accuracy >= 0.92

