"""The training stages of runners/device_check: a CIFAR-10 LC BP epoch and ImageNet-LC SDTP steps.

Both run localnet's own trainer code on random uint8 images of the dataset's shape (the real
files cannot travel with the check; time, not accuracy, is measured).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from runners.bench.lc_step import NARROW

from .stages import ROOT, Options, memory

MODELS = ROOT / "models"
EPOCHS = 500  # the paper trains CIFAR-10 for 500 epochs
#: --small: the ImageNet-LC net on 96 px crops with narrow layers at batch 8 (the full net
#: takes about 19 s a step of 128 on one CPU thread)
SMALL_IMAGENET = ("data.image_size=96", "data.batch_size=8", "layers.0.channels=4", "layers.1.channels=4",
                  "layers.2.channels=6", "layers.3.channels=6", "layers.4.channels=8", "layers.5.channels=8",
                  "layers.6.channels=8")


def synthetic(n: int, shape: tuple[int, ...], classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random uint8 images of `shape` and labels cycling over the classes."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), np.arange(n) % classes


def cifar_epoch(opts: Options) -> dict[str, Any]:
    """One epoch of CIFAR-10 LC BP (models/cifar_lc_bp.toml: its batch, augmentation and
    shuffling) through localnet's Trainer on 50,000 + 10,000 synthetic images, after a
    two-batch warm-up (kernel compilation); train and evaluation timed apart."""
    from localnet import build_network, get_backend, load_config  # noqa: PLC0415
    from localnet.train import Trainer  # noqa: PLC0415

    config = load_config(MODELS / "cifar_lc_bp.toml", list(NARROW) if opts.small else [])
    backend = get_backend(opts.backend, "float32")
    backend.release_memory()
    n_train, n_test = (200, 100) if opts.small else (50_000, 10_000)
    x, y = synthetic(n_train, (32, 32, 3), 10, 0)
    x_test, y_test = synthetic(n_test, (32, 32, 3), 10, 1)
    trainer = Trainer(config, build_network(config, backend, (32, 32, 3), 10), backend, 10)
    warm = 2 * config.data.batch_size
    trainer.train_epoch(0, x[:warm], y[:warm])
    trainer.evaluate(x_test[:warm], y_test[:warm])
    start = time.perf_counter()  # timed here: what train_epoch returns besides has changed before
    trainer.train_epoch(1, x, y)
    backend.synchronize()
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    trainer.evaluate(x_test, y_test)
    backend.synchronize()
    eval_s = time.perf_counter() - start
    epoch = train_s + eval_s
    grid = sorted(p.name for p in MODELS.glob("cifar_lc_*.toml"))
    return {"config": "cifar_lc_bp.toml", "narrow": opts.small, "batch": config.data.batch_size, "train_images": n_train,
            "test_images": n_test, "train_seconds": train_s, "eval_seconds": eval_s, "epoch_seconds": epoch,
            "train_images_per_second": n_train / train_s, "projected_500_epochs_hours": EPOCHS * epoch / 3600,
            "grid_configs": grid, "memory": memory(backend)}


def imagenet(opts: Options) -> dict[str, Any]:
    """200 steps of ImageNet-LC SDTP on synthetic images, if its config exists: images/s with
    the host-to-device copy and scaling of each batch in line, with the copy staged on its own
    stream ahead of the step (as the streamed trainer does it), and with the batches already
    on the device (the step alone); peak memory."""
    path = Path(opts.imagenet_config)
    if not path.is_file():
        return {"status": "skipped", "reason": f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
                f"does not exist: no ImageNet-LC SDTP config to run"}
    return steps_per_second(path, 3 if opts.small else 200, opts, SMALL_IMAGENET if opts.small else ())


def steps_per_second(path: Path, steps: int, opts: Options, sets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Time `steps` training steps of the config at `path` on synthetic data of its dataset's shape."""
    from localnet import build_network, get_backend, load_config  # noqa: PLC0415
    from localnet.data.imagenet_spec import input_shape_of  # noqa: PLC0415
    from localnet.data.registry import get_spec  # noqa: PLC0415
    from localnet.staging import staged  # noqa: PLC0415
    from localnet.train import Trainer  # noqa: PLC0415

    config = load_config(path, list(sets))
    spec = get_spec(config.data.dataset)
    shape, classes, batch = input_shape_of(config), spec.num_classes, config.data.batch_size
    backend = get_backend(opts.backend, "float32")
    backend.release_memory()
    net = build_network(config, backend, shape, classes)
    trainer = Trainer(config, net, backend, classes)
    x, y = synthetic(4 * batch, shape, classes, 0)
    host = [(x[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch]) for k in range(4)]
    plan, output = net.rule.passes()[0], net.output_layer

    def run(count: int, source: Any) -> float:
        loss = backend.xp.zeros((), dtype=backend.dtype)
        backend.synchronize()
        start = time.perf_counter()
        for step, pair in zip(range(count), source(count), strict=True):
            xd, _, onehot = trainer.to_device(*pair)
            loss += output.loss(net.step(step, xd, onehot, plan), onehot)
        backend.synchronize()
        return count * batch / (time.perf_counter() - start)

    def in_line(count: int) -> Any:  # host batches: the copy happens in to_device, between steps
        return (host[k % 4] for k in range(count))

    def ahead(count: int) -> Any:  # the streamed trainer's staging: the next copy overlaps this step
        return staged(backend, in_line(count))

    on_device = [tuple(backend.to_device(a) for a in pair) for pair in host]

    run(3, in_line)  # warm-up: kernel compilation, allocations
    with_copy = run(steps, in_line)
    with_staging = run(steps, ahead)
    step_only = run(max(steps // 4, 1), lambda count: (on_device[k % 4] for k in range(count)))
    return {"config": path.name, "dataset": config.data.dataset, "input_shape": list(shape), "batch": batch,
            "steps": steps, "narrow": bool(sets), "images_per_second": with_copy, "images_per_second_staged": with_staging,
            "images_per_second_step_only": step_only, "memory": memory(backend)}
