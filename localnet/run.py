"""One experiment end to end: config -> data -> network -> training -> run directory.

A run directory holds config.toml (the resolved config), metrics.jsonl (one JSON object
per epoch, flushed as it goes), params.npz (final parameters, no pickle) and summary.json.

SIGINT (Ctrl-C) and SIGTERM stop training at the next step boundary: a checkpoint of that
step is written and `Interrupted` names the command that continues the run; a second
signal stops at once (the newest periodic checkpoint stays).
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .backend import get_backend, resolve_auto
from .checkpoint import Checkpointer, run_disk_bytes, save_params
from .config import RunConfig, config_to_dict, dump_toml
from .errors import ConfigError, Interrupted, LocalnetError
from .guard import FiniteGuard, check_loss, check_parameters
from .host_memory import keep_freed_memory
from .lock import LOCK_NAME, RunLock
from .machine import machine
from .network import Network
from .plan import build_checked, check_memory, cpu_speed_note
from .threads import describe_threads, limit_threads, resolve_threads
from .train import EpochMetrics, Stopped, Trainer
from .writes import WriteError, append_line, check_space, make_dirs, refuse_links, write_atomic, writing


class RunComplete(LocalnetError):
    """`--resume` on a run that has trained all its epochs: nothing to do (exit 0)."""

    exit_code = 0


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"


#: the files a run writes atomically into its folder (each through ".NAME.tmp")
RUN_FILES = ("config.toml", "metrics.jsonl", "params.npz", "summary.json")
#: what a run writes, replaces or clears in its folder (none of them may be a link)
RUN_ENTRIES = (LOCK_NAME, "checkpoints", "record.zarr", *RUN_FILES, *(f".{name}.tmp" for name in RUN_FILES))


def prepare_run_dir(path: Path, force: bool, echo: Callable[[str], None] | None = None) -> Path:
    """Create `path`, refusing to overwrite an existing non-empty directory unless `force`,
    and refusing (even with `force`) a directory a live run holds locked or one in which
    what a run writes is a symbolic link."""
    if path.exists() and not path.is_dir():
        raise LocalnetError(f"run directory {path} is a file: choose another --out")
    refuse_links(path, RUN_ENTRIES)
    RunLock(path).check_free()
    held = sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME) if path.is_dir() else []
    is_run = any(name in held for name in (*RUN_FILES, "checkpoints"))
    if held and not force:
        what = "already holds a run" if is_run else f"is not empty (it holds {held[0]})"
        raise LocalnetError(f"run directory {path} {what}: choose another --out, or pass --force to "
                            f"{'overwrite it' if is_run else 'write into it'}")
    if held and echo is not None:
        echo(f"--force: replacing the run in {path} (its checkpoints, params.npz and summary.json are removed)"
             if is_run else f"--force: writing into {path}, which holds {', '.join(held[:3])}"
             f"{' and more' if len(held) > 3 else ''} (kept unless a run writes that name)")
    return make_dirs(path)


def load_data(config: RunConfig, data_dir: str | None) -> tuple[tuple[np.ndarray, ...], Any]:
    """(x_train, y_train, x_test, y_test) host arrays, cut to data.limit_*, and the Dataset."""
    from .data import load_dataset, resolve_data_dir  # noqa: PLC0415
    from .data.imagenet_spec import is_streamed  # noqa: PLC0415

    if is_streamed(config.data.dataset):  # read batch by batch from prepared shards
        from .stream import load_streamed  # noqa: PLC0415 - zarr only for streamed runs

        return load_streamed(config, data_dir)
    dataset = load_dataset(config.data.dataset, resolve_data_dir(config.data.dataset, data_dir))
    n_train = min(config.data.limit_train or len(dataset.x_train), len(dataset.x_train))
    n_test = config.data.limit_test or len(dataset.x_test)
    if config.data.batch_size > n_train:
        # parse_config checks the official sizes; this catches smaller (e.g. custom) files.
        raise ConfigError(f"data.batch_size {config.data.batch_size} is larger than the {n_train:,} training "
                          f"examples in the data: use a batch_size <= {n_train}")
    arrays = (dataset.x_train[:n_train], dataset.y_train[:n_train], dataset.x_test[:n_test], dataset.y_test[:n_test])
    return arrays, dataset


def summarize(history: list[EpochMetrics], config: RunConfig, network: Network) -> dict[str, Any]:
    last = history[-1] if history else None
    best = min(history, key=lambda row: row.test_error) if history else None
    timed = [row for row in history if not math.isnan(row.examples_per_second)]  # NaN: nothing left to train
    seconds = sum(row.seconds for row in timed)
    examples = sum(row.seconds * row.examples_per_second for row in timed)
    return {
        "name": config.name,
        "rule": config_to_dict(config)["rule"]["name"],
        "epochs": len(history),
        "train_error": last.train_error if last else None,
        "test_error": last.test_error if last else None,
        "train_loss": last.train_loss if last else None,
        "best_test_error": best.test_error if best else None,
        "best_epoch": best.epoch if best else None,
        "test_top5_error": _number(last.test_top5_error) if last else None,
        "train_top5_error": _number(last.train_top5_error) if last else None,
        "examples_per_second": examples / seconds if seconds else None,
        "train_seconds": seconds,
        "parameters": network.parameter_count(),
        "backend": config.backend,
        "backend_used": network.backend.name,  # what "auto" resolved to
        "seed": config.seed,
        "versions": {"localnet": __version__, "numpy": np.__version__, "python": platform.python_version()},
        "machine": machine(),  # bits agree within one platform (localnet/machine.py)
    }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _json_row(row: EpochMetrics) -> str:
    values = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in dataclasses.asdict(row).items()}
    return json.dumps(values)


def run_experiment(config: RunConfig, data_dir: str | None = None, out: Path | None = None, force: bool = False,
                   echo: Callable[[str], None] = print, progress: Callable[[int, int, int], Any] | None = None,
                   resume: bool = False) -> tuple[dict[str, Any], Path]:
    """Train `config` and save its run directory. Returns (summary, run directory).

    Everything that can fail on bad input (data, backend, wiring) is checked before the
    run directory is created, so a failed start leaves nothing behind. resume: continue
    the run in `out` from its newest valid checkpoint (see `resume_experiment`).
    """
    from .data.imagenet_spec import input_shape_of  # noqa: PLC0415

    backend = get_backend(config.backend, config.dtype)
    if backend.name == "numpy":
        keep_freed_memory()  # a step's large arrays reuse the last step's memory, not fresh pages
    if config.backend == "auto" and backend.name == "numpy":
        echo(cpu_speed_note(config, input_shape_of(config), resolve_auto(config.dtype)[1]))
    check_memory(config, input_shape_of(config), backend=backend.name)  # before any data
    threads = resolve_threads(config.threads)
    with limit_threads(threads):
        arrays, dataset = load_data(config, data_dir)
        network = build_checked(config, backend, dataset.input_shape, dataset.num_classes)
        if not resume:  # a fresh run needs room for its checkpoints: refuse now, not hours in
            check_space(out or default_run_dir(config), run_disk_bytes(network, config.train.keep_checkpoints),
                        f"{config.train.keep_checkpoints} checkpoints and params.npz", force)
        if resume and out is not None:
            run_dir = out
            refuse_links(run_dir, RUN_ENTRIES)  # prepare_run_dir checks a fresh run's folder
        else:
            run_dir = prepare_run_dir(out or default_run_dir(config), force, echo)
        with RunLock(run_dir):
            resume_command = f"localnet run --resume {run_dir}" + (f" --data-dir {data_dir}" if data_dir else "")
            try:
                return _train_into(config, network, backend, arrays, dataset, run_dir, echo, progress, resume,
                                   describe_threads(threads), resume_command)
            except WriteError as err:  # once config.toml is there, --resume continues (or restarts) it
                if not (run_dir / "config.toml").is_file():
                    raise
                raise WriteError(f"{err}; then continue the run with: {resume_command}") from None


def resume_experiment(run_dir: Path, data_dir: str | None = None, epochs: int | None = None,
                      echo: Callable[[str], None] = print, progress: Callable[..., Any] | None = None,
                      threads: int | None = None) -> tuple[dict[str, Any], Path]:
    """Continue the run in `run_dir` from its newest valid checkpoint, with its saved config
    (optionally training to a different number of `epochs`, on other `threads`).

    RunComplete (exit code 0) if the run has already trained its epochs: nothing is trained.
    """
    from .config import load_config  # noqa: PLC0415

    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise LocalnetError(f"--resume {run_dir}: no config.toml there, so it is not a run directory: "
                            "pass the directory `localnet run` created")
    overrides = {f"train.epochs={epochs}": f"--epochs {epochs}"} if epochs is not None else {}
    if threads is not None:
        overrides[f"threads={threads}"] = f"--threads {threads}"
    saved_threads = load_config(run_dir / "config.toml").threads if threads is not None else None
    config = load_config(run_dir / "config.toml", list(overrides), list(overrides.values()))
    if saved_threads is not None and resolve_threads(saved_threads) != resolve_threads(config.threads):
        echo(f"warning: resuming on {config.threads} BLAS thread(s); the run trained on {saved_threads}: "
             "sums may round differently, so the result may differ from an uninterrupted run's bits")
    done = _finished_epochs(run_dir)
    if done is not None and done >= config.train.epochs:
        asked = "" if epochs is None else f", and --epochs {epochs} asks for no more"
        raise RunComplete(f"{run_dir}: the run is complete ({done} epoch{'s' if done != 1 else ''} trained{asked}); "
                          f"to train it further, pass the total number of epochs: "
                          f"localnet run --resume {run_dir} --epochs {done + max(done, 1)}")
    return run_experiment(config, data_dir, run_dir, echo=echo, progress=progress, resume=True)


def _finished_epochs(run_dir: Path) -> int | None:
    """The epochs a finished run trained (its summary.json), or None if it has not finished."""
    try:
        return int(json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _resume_point(checkpoints: Checkpointer, run_dir: Path, echo: Callable[[str], None]) -> Any:
    """(position, history, path) of the newest valid checkpoint, or None for a run that was
    stopped before it wrote its first one (it then starts again from step 0)."""
    if not checkpoints.any_files() and not (run_dir / "summary.json").exists():
        echo(f"warning: {run_dir} has no checkpoint yet (the run stopped before its first one): "
             "starting it again from step 0")
        return None
    return checkpoints.load_latest()


@contextmanager
def _stop_on_signals(trainer: Trainer) -> Iterator[list[int]]:
    """While training: the first SIGINT/SIGTERM asks `trainer` to stop at the next step
    boundary (it checkpoints that step); a second raises KeyboardInterrupt at once. Yields
    the signals received. Signal handlers can only be set in the main thread: elsewhere
    the signals keep their handlers."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        trainer.stop_requested = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _train_into(config: RunConfig, network: Network, backend: Any, arrays: tuple[np.ndarray, ...], dataset: Any,
                run_dir: Path, echo: Callable[[str], None], progress: Callable[..., Any] | None,
                resume: bool, threads: str, resume_command: str) -> tuple[dict[str, Any], Path]:
    trainer = getattr(dataset, "trainer", Trainer)(config, network, backend, dataset.num_classes)
    checkpoints = Checkpointer(run_dir, network, config.train.keep_checkpoints, warn=echo)
    echo(f"run {config.name}: {threads}, {network.parameter_count():,} parameters, rule "
         f"{config_to_dict(config)['rule']['name']}, backend {backend.name}, {len(arrays[0])} train / "
         f"{len(arrays[2])} test examples -> {run_dir}")
    position, history = None, []
    found = _resume_point(checkpoints, run_dir, echo) if resume else None
    if found is not None:
        position, history, path = found
        trainer.step_count = position.step
        echo(f"resuming {run_dir} from {path.name}: epoch {position.epoch}, step {position.step}")
        if backend.name != "numpy":
            # cuRAND generators (CuPy) expose no state to save: each layer's noise stream is
            # re-seeded from (seed, layer, step), so a resumed GPU run is deterministic but, unlike
            # a numpy run, not bit-identical to one that was never interrupted (docs/design.md).
            for node in network.nodes:
                if node.state.rng is not None:
                    node.state.rng = backend.random(config.seed, "noise", node.name, f"resumed-at-{position.step}")
    else:  # a fresh start: nothing of an earlier run in this directory (--force) may survive
        checkpoints.clear()
        for name in ("params.npz", "summary.json"):
            (run_dir / name).unlink(missing_ok=True)
        write_atomic(run_dir / "config.toml", lambda h: h.write(dump_toml(config_to_dict(config)).encode()))
    # metrics.jsonl holds exactly the checkpoint's epochs, so a resumed log has no gaps or repeats.
    log = run_dir / "metrics.jsonl"
    write_atomic(log, lambda h: h.write("".join(_json_row(row) + "\n" for row in history).encode()))
    network.engine.add_tap(FiniteGuard(backend.xp))
    recorder = None
    if config.record.enabled:
        from .record import STORE_NAME, Recorder  # noqa: PLC0415 - zarr only when recording

        saved = checkpoints.loaded_extra
        resume_step = None if position is None else Recorder.resume_from(saved, position.step)
        recorder = Recorder.for_run(config, network, run_dir / STORE_NAME, resume_step=resume_step)
        if position is not None:
            recorder.restore(saved)  # the rows buffered at the checkpoint: the log has no gap
        trainer.recorder = recorder
        checkpoints.extra = recorder.checkpoint_state

    trainer.checkpoint_every, trainer.on_checkpoint = config.train.checkpoint_every, checkpoints

    epoch_examples = len(arrays[0]) * len(network.rule.passes())

    def on_epoch(row: EpochMetrics) -> None:
        check_parameters(network.parameters(), backend.xp, trainer.step_count)
        append_line(metrics, log, _json_row(row))
        rate = "no steps left" if math.isnan(row.examples_per_second) else f"{row.examples_per_second:,.0f} ex/s"
        part = (f"; resumed at {trainer.resumed_examples:,} of {epoch_examples:,} examples"
                if trainer.resumed_examples else "")
        echo(f"epoch {row.epoch:>3}/{config.train.epochs}  train loss {row.train_loss:.4f}  "
             f"train err {row.train_error:5.2f}%  test err {row.test_error:5.2f}% (top-5 {row.test_top5_error:5.2f}%)  "
             f"({row.seconds:.1f} s, {rate}{part})")
        check_loss(row.epoch, row.train_loss, row.test_loss, dataset.num_classes, config.train.diverge_loss)

    try:
        with writing(log):
            metrics = log.open("ab", buffering=0)  # unbuffered: a line is on disk or cut off, never pending
    except WriteError:
        if recorder is not None:
            recorder.abandon()
        raise
    received: list[int] = []
    try:
        # Overflow on the way to a NaN is the guard's to report (one line naming the layer),
        # not numpy's (a RuntimeWarning per operation).
        with metrics, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), \
                _stop_on_signals(trainer) as received:
            history = trainer.fit(arrays, config.train.epochs, on_epoch, progress, position, history)
    except BaseException as err:
        if recorder is not None:
            recorder.abandon()
        if isinstance(err, Stopped):
            name = signal.Signals(received[0]).name if received else "a stop request"
            raise Interrupted(f"interrupted by {name}: checkpoint saved at step {err.position.step}; "
                              f"continue with: {resume_command}", received[0] if received else 2) from None
        if isinstance(err, KeyboardInterrupt):
            when = "again, before the checkpoint of" if received else "at"
            raise Interrupted(f"interrupted {when} step {trainer.step_count}: continue from the newest checkpoint "
                              f"with: {resume_command}") from None
        raise
    if recorder is not None:
        recorder.close(complete=True)
    save_params(network, run_dir / "params.npz")  # a failure here: resuming the last checkpoint writes these
    summary = summarize(history, config, network)
    if recorder is not None:
        summary["record"] = recorder.cost()
    text = json.dumps(summary, indent=2) + "\n"
    write_atomic(run_dir / "summary.json", lambda handle: handle.write(text.encode()))
    return summary, run_dir
