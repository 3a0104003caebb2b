"""Train the networks DigitLab ships, by the recipes in digitlab.core.recipes, measure and ship them.

    python scripts/train_shipped_models.py                     # both models, seeds 1-5, then ship
    python scripts/train_shipped_models.py --model default     # only the video's network

Every seed's network and figures go to the work folder (default build/shipped-models,
``{model}_seed{N}.npz``); then the shipped file (resources/default_model.npz or
resources/bigger_model.npz) is written atomically from the seed
``digitlab.core.recipes.choose_seed`` picks: the best validation accuracy among the runs that
meet the recipe's claims (the video's network must answer noise confidently). Seeds can run
in parallel processes with ``--no-ship``, followed by one ``--ship-only`` run that chooses
from the work folder.

Figures per run: the bundled validation digits (the choice is made on these), the official
MNIST test set if present (../shared/data/mnist-official-test or DIGITLAB_MNIST_TEST_DIR;
only ever reported), the bench's drawn digits, and the noise lesson's shares as
`digitlab lesson noise` measures them (noise seed 0; the claims are checked on seed 1).
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
from digitlab.core.lessons import noise
from digitlab.core.model_io import load_model, save_model


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
    result = noise.run(noise.NoiseConfig(network=network), np.random.default_rng(0))
    figures["noise_confident_share"] = result.noise_confident_share
    figures["digits_confident_share"] = result.digits_confident_share
    return {key: round(float(value), 4) for key, value in figures.items()}


def run_path(work: Path, name: str, seed: int) -> Path:
    return work / f"{name}_seed{seed}.npz"


def train_and_measure(name: str, seed: int, work: Path) -> dict:
    """Train one seed, measure it, keep it in ``work``; returns its row of figures."""
    recipe = recipes.RECIPES[name]
    start = time.perf_counter()

    def progress(epoch, train_accuracy, val_accuracy):
        print(f"  {name} seed {seed} epoch {epoch}/{recipe.epochs}: training {train_accuracy:.4f}, "
              f"validation {val_accuracy:.4f}", flush=True)

    network, metadata = recipes.train_recipe(recipe, seed, progress=progress)
    metadata["figures"] = measure(network)
    metadata["claims_check"] = recipes.check_claims(network, recipe)
    work.mkdir(parents=True, exist_ok=True)
    save_model(run_path(work, name, seed), network, metadata)
    seconds = time.perf_counter() - start
    print(f"{name} seed {seed}: {json.dumps(metadata['figures'])}, claims met: "
          f"{metadata['claims_check']['meets_claims']} ({seconds:.0f} s)", flush=True)
    return {"model": name, "seed": seed, **metadata["figures"]}


def ship(name: str, seeds: list[int], work: Path) -> Path:
    """Write the shipped file from the chosen seed's run, with every candidate's figures."""
    runs = {}
    for seed in seeds:
        path = run_path(work, name, seed)
        if not path.is_file():
            raise SystemExit(f"no run of {name} seed {seed} in {work}: train it first")
        runs[seed] = load_model(path)
    candidates = {seed: {"val_accuracy": meta["val_accuracy"], **meta["claims_check"]}
                  for seed, (_, meta) in runs.items()}
    chosen = recipes.choose_seed(candidates)
    network, metadata = runs[chosen]
    metadata["selection"] = {
        "rule": "best validation accuracy among the seeds that meet the recipe's claims",
        "candidates": {str(seed): {**runs[seed][1]["figures"], "meets_claims": candidates[seed]["meets_claims"]}
                       for seed in sorted(runs)},
    }
    path = recipes.shipped_model_path(name)
    save_model(path, network, metadata)
    print(f"wrote {path} (seed {chosen})", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "bigger", "both"], default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(recipes.SEEDS),
                        help="seeds to train and choose from (default: 1 2 3 4 5)")
    parser.add_argument("--work", type=Path, default=Path("build") / "shipped-models",
                        help="folder for every seed's network (default: build/shipped-models)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-ship", action="store_true", help="train and measure only")
    mode.add_argument("--ship-only", action="store_true", help="choose from runs already in --work")
    options = parser.parse_args(argv)
    names = ["default", "bigger"] if options.model == "both" else [options.model]
    for name in names:
        if not options.ship_only:
            for seed in options.seeds:
                train_and_measure(name, seed, options.work)
        if not options.no_ship:
            ship(name, options.seeds, options.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
