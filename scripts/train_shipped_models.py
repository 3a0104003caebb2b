"""Train the networks DigitLab ships, by the recipes in digitlab.core.recipes, and measure them.

    python scripts/train_shipped_models.py                      # both, seed 1: writes resources/*.npz
    python scripts/train_shipped_models.py --model default      # only the video's network
    python scripts/train_shipped_models.py --seeds 1 2 3 4 5 --report figures.json

The shipped seed (1) writes ``resources/default_model.npz`` / ``resources/bigger_model.npz``
atomically (``digitlab.core.model_io.save_model``); other seeds are measured and, with
``--keep DIR``, saved there. Each run prints and reports its figures: the bundled
validation digits (the choice was made on these), the official MNIST test set if present
(``../shared/data/mnist-official-test`` or DIGITLAB_MNIST_TEST_DIR; only ever reported),
the bench's drawn digits, and the noise lesson's confident shares.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from digitlab import bench
from digitlab.core import datasets, recipes
from digitlab.core.fileio import atomic_output
from digitlab.core.lessons import noise
from digitlab.core.model_io import save_model


def measure(network) -> dict:
    """The figures resources/default_model.md reports for one network."""
    sample = datasets.load_sample()
    _, validation = network.evaluate(datasets.to_inputs(sample.val_images), sample.val_labels)
    figures = {"validation": validation}
    test_dir = bench.official_test_dir()
    if test_dir is not None:
        images, labels = datasets.load_test_set(test_dir)
        figures["official_test"] = network.evaluate(datasets.to_inputs(images), labels)[1]
    figures["drawn"] = bench.drawn_accuracy(network)
    # As `digitlab lesson noise` runs it: the default config, seed 0.
    result = noise.run(noise.NoiseConfig(network=network), np.random.default_rng(0))
    figures["noise_confident_share"] = result.noise_confident_share
    figures["digits_confident_share"] = result.digits_confident_share
    return {key: round(float(value), 4) for key, value in figures.items()}


def train_and_measure(name: str, seed: int, keep: Path | None) -> dict:
    recipe = recipes.RECIPES[name]
    start = time.perf_counter()

    def progress(epoch, train_accuracy, val_accuracy):
        print(f"  {name} seed {seed} epoch {epoch}/{recipe.epochs}: training {train_accuracy:.4f}, "
              f"validation {val_accuracy:.4f}", flush=True)

    network, metadata = recipes.train_recipe(recipe, seed, progress=progress)
    figures = measure(network)
    metadata["figures"] = figures
    if seed == recipes.SHIPPED_SEED:
        path = recipes.shipped_model_path(name)
        save_model(path, network, metadata)
        print(f"wrote {path}", flush=True)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        save_model(keep / f"{name}_seed{seed}.npz", network, metadata)
    seconds = time.perf_counter() - start
    print(f"{name} seed {seed}: {json.dumps(figures)} ({seconds:.0f} s)", flush=True)
    return {"model": name, "seed": seed, "seconds": round(seconds, 1), **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "bigger", "both"], default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[recipes.SHIPPED_SEED],
                        help=f"seeds to train (default: {recipes.SHIPPED_SEED}, the shipped one)")
    parser.add_argument("--keep", type=Path, help="also save every seed's network in this folder")
    parser.add_argument("--report", type=Path, help="write the figures as JSON here")
    options = parser.parse_args(argv)
    names = ["default", "bigger"] if options.model == "both" else [options.model]
    rows = [train_and_measure(name, seed, options.keep) for name in names for seed in options.seeds]
    if options.report is not None:
        with atomic_output(options.report) as out:
            out.write(json.dumps(rows, indent=2).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
