"""Bit-exact parameter digests of one training epoch of each shipped MNIST-FC config.

`digest(config_path, limit_train)` trains one epoch (the config's own seed, numpy, its own
dtype) and returns the SHA-256 of every final parameter: keys sorted, each key's UTF-8 name
then its raw bytes (C order). The table `param_digests.json` next to this file was written
by this module's command line from the code *before* the rule-contract refactor (git
759a10e, with this module as it was in cec5e8c), first on the project's AMD EPYC machine
(`digests`), then on each further platform (`platforms[platform_key()]`, run there):

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=<old tree> \
        python tests/testing/digests.py --limit 6000 --limit 0 --out tests/testing/param_digests.json

and `test_param_digests.py` recomputes it on the current code: the same seed must give the
same parameters, bit for bit. limit 0 is the full 60,000-example epoch. The MNIST-LC configs
(locally-connected, convolutional and flatten layers) are in the table too, at 500 examples
(`--glob 'mnist_lc_*.toml' --limit 500`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TABLE = Path(__file__).with_name("param_digests.json")


def overrides(limit_train: int) -> list[str]:
    """What the digest run changes in a shipped config: one epoch, no train-error pass, a
    short test pass (evaluation changes no parameter), optionally fewer training examples."""
    return ["train.epochs=1", "train.eval_train=false", "data.limit_test=100", f"data.limit_train={limit_train}"]


def then(config_path: Path) -> list[str]:
    """Overrides that restore, by name, the conventions in force when the table was made and
    since changed in the shipped configs: the parallel schedule's inverse-first order, and
    DTP's per-example penultimate step."""
    import tomllib

    rule = tomllib.loads(config_path.read_text()).get("rule", {})
    extra = ['rule.parallel_order="inverse_first"'] if rule.get("schedule") == "parallel" else []
    return extra + (['rule.alpha_gradient="per_example"'] if rule.get("name") == "dtp" else [])


def digest(config_path: Path, limit_train: int) -> str:
    """SHA-256 (hex) of the parameters after one epoch of `config_path` on the shipped MNIST."""
    from localnet.backend import get_backend
    from localnet.config import load_config
    from localnet.network import build_network
    from localnet.run import load_data
    from localnet.threads import limit_threads
    from localnet.train import Trainer

    config = load_config(config_path, overrides(limit_train) + then(config_path))
    backend = get_backend("numpy", config.dtype)
    arrays, dataset = load_data(config, None)
    network = build_network(config, backend, dataset.input_shape, dataset.num_classes)
    # The config's BLAS threads (1 as shipped), as `localnet run` applies them: the table was
    # made with 1 thread, and more threads can change the order of a BLAS sum.
    with limit_threads(config.threads), np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        Trainer(config, network, backend, dataset.num_classes).fit(arrays, 1)
    sha = hashlib.sha256()
    for key, value in sorted(network.parameters().items()):
        sha.update(key.encode())
        sha.update(np.ascontiguousarray(backend.to_host(value)).tobytes())
    return sha.hexdigest()


def platform_key() -> str:
    """localnet.machine.platform_key: OpenBLAS's core name and numpy's widest SIMD target."""
    from localnet.machine import platform_key as key

    return key()


def configs(pattern: str = "mnist_fc_*.toml") -> list[Path]:
    return sorted((ROOT / "models").glob(pattern))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, action="append", required=True, help="data.limit_train (0: all)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--glob", default="mnist_fc_*.toml", help="configs under models/ (default: every MNIST-FC)")
    args = parser.parse_args()
    import localnet

    table = json.loads(args.out.read_text()) if args.out.exists() else {}
    table.setdefault("made_with", {})
    table.setdefault("digests", {})
    table["made_with"]["command"] = ("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=<tree> "
                                     "python tests/testing/digests.py --limit N --out tests/testing/param_digests.json")
    table["made_with"]["overrides"] = [*overrides(-1)[:-1], "data.limit_train=N"]
    table["made_with"]["numpy"] = np.__version__
    for path in configs(args.glob):
        for limit in args.limit:
            value = digest(path, limit)
            table["digests"].setdefault(path.stem, {})[str(limit)] = value
            print(f"{path.stem} limit_train={limit}: {value}  ({localnet.__file__})", flush=True)
            args.out.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
