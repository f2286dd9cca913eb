"""The `localnet` command line: run, validate, data fetch/verify, bench.

Bad input (config, data, arguments) ends with one line on stderr and a non-zero exit:
2 for config and usage errors, 1 for data and run-directory errors. No traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import __version__
from .backend import BACKENDS
from .data.cli import prepare
from .data.registry import DATASETS
from .errors import LocalnetError, friendly_errors
from .record.cli import inspect, plot, record_options, record_overrides
from .report.cli import report
from .sweep.cli import sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="localnet")
def main() -> None:
    """localnet: layer-local learning rules (BP, FA, DFA, ...) as message-passing layers.

    Train an experiment with `localnet run models/mnist_fc_fa.toml`; see each command's
    --help. Runs are saved under runs/ (config, metrics, parameters, summary).
    """


def _load(config: str, sets: tuple[str, ...], seed: int | None, backend: str | None, epochs: int | None,
          threads: int | None = None) -> Any:
    """The config with --set overrides, then the options' own; an error names the one it came from."""
    from .config import load_config  # noqa: PLC0415

    overrides = {item: f"--set {item}" for item in sets}
    for value, key, option in ((seed, "seed", "--seed"), (backend, "backend", "--backend"),
                               (epochs, "train.epochs", "--epochs"), (threads, "threads", "--threads")):
        if value is not None:
            overrides[f'{key}="{value}"' if isinstance(value, str) else f"{key}={value}"] = f"{option} {value}"
    return load_config(config, list(overrides), list(overrides.values()))


config_argument = click.argument("config", type=click.Path(dir_okay=False, path_type=str))
set_option = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                          help="Override a config value, e.g. --set optim.lr=3e-4; a number indexes a list, e.g. "
                               "--set layers.1.optim.beta2=0.999 (the second [[layers]] table's own Adam key). Repeatable.")


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path),
              help="Continue the run in this directory from its newest valid checkpoint (no CONFIG).")
@click.option("--epochs", type=int, help="Override train.epochs, >= 1 (also when resuming: the total to reach).")
@click.option("--threads", type=click.IntRange(min=0),
              help="BLAS threads while training (default: the config's `threads`, 1; 0: every core). Also when resuming.")
@set_option
@click.option("--seed", type=int, help="Override the seed (init, feedback matrices, data order).")
@click.option("--backend", type=click.Choice(BACKENDS), help="Array backend (default: the config's).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str),
              help="Directory with the dataset files (else $LOCALNET_DATA, the user cache, the repo's data/).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create (default: runs/NAME-TIMESTAMP).")
@click.option("--force", is_flag=True, help="Allow --out to be a directory that already holds a run, and start even when its "
              "file system looks too full for the run's checkpoints.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show each epoch's progress on stderr: a bar on a terminal, else a line every 10%.")
@record_options
@friendly_errors
def run(config: str | None, resume: Path | None, epochs: int | None, threads: int | None, sets: tuple[str, ...],
        seed: int | None, backend: str | None, data_dir: str | None, out: Path | None, force: bool, progress: bool,
        record: bool | None, record_every: int | None, record_angle: bool) -> None:
    """Train the experiment in CONFIG (a TOML file, e.g. models/mnist_fc_bp.toml).

    The first line names the BLAS threads used. Prints one line per epoch (train loss,
    train error, test error) and writes the run directory: config.toml, metrics.jsonl,
    params.npz, summary.json and checkpoints/. Ctrl-C (or SIGTERM) saves a checkpoint at
    the current step and prints the command that continues the run:
    `localnet run --resume RUN_DIR`.
    """
    from .progress import progress_factory  # noqa: PLC0415
    from .run import RunComplete, resume_experiment, run_experiment  # noqa: PLC0415

    if resume is not None:
        if config is not None or sets or seed is not None or backend is not None or out is not None:
            raise click.UsageError("--resume takes no CONFIG, --set, --seed, --backend or --out: "
                                   "the run continues with its saved config (only --epochs and --threads may change)")
        try:
            summary, run_dir = resume_experiment(resume, data_dir, epochs, echo=click.echo,
                                                 progress=progress_factory(progress), threads=threads)
        except RunComplete as done:
            click.echo(str(done))
            return
    else:
        if config is None:
            raise click.UsageError("missing CONFIG: e.g. localnet run models/mnist_fc_fa.toml (or --resume RUN_DIR)")
        cfg = _load(config, (*sets, *record_overrides(record, record_every, record_angle)), seed, backend, epochs,
                    threads)
        summary, run_dir = run_experiment(cfg, data_dir, out, force, echo=click.echo,
                                          progress=progress_factory(progress))
    click.echo(f"done: best test error {summary['best_test_error']:.2f}% (epoch {summary['best_epoch']}), "
               f"final test error {summary['test_error']:.2f}%, {summary['examples_per_second']:,.0f} ex/s -> "
               f"{run_dir}" if summary["epochs"] else f"done: no epochs run -> {run_dir}")


@main.command()
@config_argument
@set_option
@friendly_errors
def validate(config: str, sets: tuple[str, ...]) -> None:
    """Check CONFIG without training: parse it, validate every key, build the network.

    A network too large for this machine's memory is refused before anything is allocated.
    Prints every problem found (exit 2) or a one-line summary of the network (exit 0),
    after a warning when the config's backend cannot run on this machine (CuPy or its GPU
    missing): the config is valid, but `localnet run` of it would fail here.
    """
    from .backend import get_backend  # noqa: PLC0415
    from .data import get_spec  # noqa: PLC0415
    from .data.imagenet_spec import input_shape_of  # noqa: PLC0415
    from .errors import ConfigError  # noqa: PLC0415
    from .plan import build_checked, check_memory  # noqa: PLC0415

    cfg = _load(config, sets, None, None, None)
    spec = get_spec(cfg.data.dataset)
    shape = input_shape_of(cfg)  # data.image_size for streamed ImageNet
    check_memory(cfg, shape)  # what training on the config's backend needs
    # A streamed dataset's classes are its prepared manifest's (a subset may have fewer than
    # the release's 1,000), known only at run time: the output layer is taken at its word.
    from .data.imagenet_spec import is_streamed  # noqa: PLC0415

    classes = getattr(cfg.layers[-1], "units", spec.num_classes) if is_streamed(cfg.data.dataset) else spec.num_classes
    network = build_checked(cfg, get_backend("numpy", cfg.dtype), shape, classes)
    if cfg.backend != "numpy":
        try:
            get_backend(cfg.backend, cfg.dtype)
        except ConfigError as err:
            click.echo(f"warning: {config}: `localnet run` will fail on this machine: {err}", err=True)
    shapes = " -> ".join(str(node.layer.out_shape) for node in network.nodes)
    click.echo(f"{config}: ok ({len(network.nodes)} layers {shapes}, {network.parameter_count():,} parameters)")


@main.command()
@config_argument
@set_option
@friendly_errors
def schedule(config: str, sets: tuple[str, ...]) -> None:
    """Print the phase plan CONFIG's rule and schedule run each epoch (no training).

    Shows the passes over the training set per epoch and, for each step, the phases in
    order with what the input node injects, then the channels every message travels.
    """
    from .backend import get_backend  # noqa: PLC0415
    from .data import get_spec  # noqa: PLC0415
    from .data.imagenet_spec import input_shape_of  # noqa: PLC0415
    from .plan import build_checked  # noqa: PLC0415
    from .schedule import describe  # noqa: PLC0415

    cfg = _load(config, sets, None, None, None)
    spec = get_spec(cfg.data.dataset)
    shape = input_shape_of(cfg)  # data.image_size for streamed ImageNet
    net = build_checked(cfg, get_backend("numpy", cfg.dtype), shape, spec.num_classes)
    train = cfg.data.limit_train or spec.train_size
    steps = -(-train // cfg.data.batch_size)
    rule = type(net.rule).__name__.lower()
    click.echo(describe(net.rule.passes(), rule, steps))
    click.echo(f"  weight transport: {net.rule.transports_weights}")
    click.echo("channels:")
    for channel in net.engine.channels:
        click.echo(f"  {channel.src:>8} -> {channel.dst:<8} {channel.kind}")
    learned = [f"{n.name}: {', '.join(n.state.arrays)}" for n in net.nodes if n.state.arrays]
    if learned:
        click.echo("feedback parameters: " + "; ".join(learned))


@main.command()
@config_argument
@set_option
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch for the activation column (default: the config's).")
@friendly_errors
def plan(config: str, sets: tuple[str, ...], batch_size: int | None) -> None:
    """Print per-layer output shape, parameter count and memory of CONFIG's network.

    Memory: weights, feedback parameters (B, inverses), Adam state and the activations a
    training step keeps, in the config's dtype; the same bytes on numpy (host) and CuPy (GPU).
    Disk: one checkpoint's size and what the run directory grows to.
    """
    from .backend import get_backend  # noqa: PLC0415
    from .data import get_spec  # noqa: PLC0415
    from .data.imagenet_spec import input_shape_of  # noqa: PLC0415
    from .plan import build_checked, format_plan, plan as make_plan  # noqa: PLC0415

    cfg = _load(config, sets, None, None, None)
    spec = get_spec(cfg.data.dataset)
    shape = input_shape_of(cfg)  # data.image_size for streamed ImageNet
    net = build_checked(cfg, get_backend("numpy", cfg.dtype), shape, spec.num_classes)
    batch = batch_size or cfg.data.batch_size
    click.echo(f"{config}: rule {type(net.rule).__name__.lower()}, input {shape}, {cfg.dtype}")
    click.echo(format_plan(make_plan(net, batch), batch, "host memory on numpy, GPU memory on cupy"))
    from .checkpoint import checkpoint_bytes, run_disk_bytes  # noqa: PLC0415
    from .writes import size_text  # noqa: PLC0415

    keep = cfg.train.keep_checkpoints
    click.echo(f"disk: a checkpoint is {size_text(checkpoint_bytes(net))}; the run directory grows to about "
               f"{size_text(run_disk_bytes(net, keep))} ({keep} kept + 1 being written, and params.npz; "
               "`localnet run` checks this against the free space first)")


@main.group()
def data() -> None:
    """Dataset files: fetch from the canonical mirrors, verify checksums."""


DATASET_NAMES = list(DATASETS)  # every registered dataset (localnet/data/registry.py)


@data.command()
@click.argument("dataset", type=click.Choice(DATASET_NAMES))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str),
              help="Where to put the files (default: $LOCALNET_DATA or the user cache).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per network operation.")
@friendly_errors
def fetch(dataset: str, data_dir: str | None, timeout: float) -> None:
    """Download DATASET's official files and check their MD5.

    mnist: four gzip IDX files (11 MB). cifar10: the python tarball (170 MB, kept next to
    the extracted cifar-10-batches-py/).
    """
    import os  # noqa: PLC0415

    from .data import ENV_VAR, default_fetch_dir, fetch_dataset  # noqa: PLC0415

    directory = Path(data_dir or os.environ.get(ENV_VAR) or default_fetch_dir(dataset))
    written = fetch_dataset(dataset, directory, timeout=timeout, log=click.echo)
    click.echo(f"{dataset}: {len(written)} file(s) downloaded, all files verified in {directory}")


@data.command()
@click.argument("dataset", type=click.Choice(DATASET_NAMES), default="mnist")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str),
              help="Directory to check (default: where `localnet run` would look).")
@friendly_errors
def verify(dataset: str, data_dir: str | None) -> None:
    """Check that DATASET's files are present, parse, and have the official MD5."""
    from .data import resolve_data_dir, verify_dataset  # noqa: PLC0415
    from .errors import DataError  # noqa: PLC0415

    directory = resolve_data_dir(dataset, data_dir)
    reports = verify_dataset(dataset, directory)
    for file_report in reports:
        click.echo(f"{file_report.status:>12}  {file_report.path}  {file_report.detail}")
    bad = [r for r in reports if not r.ok]
    if bad:
        raise DataError(f"{len(bad)} of {len(reports)} {dataset} file(s) in {directory} failed verification "
                        f"(see above): run `localnet data fetch {dataset} --data-dir {directory}`")
    click.echo(f"{dataset}: all {len(reports)} files ok in {directory}")


def add_runner_commands(group: click.Group) -> None:
    """Add the commands that runner packages declare in the `localnet.commands` entry-point group
    (pyproject.toml; `localnet bench` is runners.bench.cli:bench). The library never imports
    runners/: a command whose package is missing is reported when it is called, in one line."""
    from importlib.metadata import entry_points  # noqa: PLC0415 - only at start-up

    for entry in entry_points(group="localnet.commands"):
        try:
            command = entry.load()
        except ImportError as err:
            command = _missing_command(entry.name, entry.value, err)
        group.add_command(command, entry.name)


def _missing_command(name: str, target: str, err: ImportError) -> click.Command:
    """A stand-in for a declared command whose package cannot be imported."""

    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"(unavailable: {target} cannot be imported)", add_help_option=False)
    @friendly_errors
    def missing() -> None:
        raise LocalnetError(f"`localnet {name}` needs {target.partition(':')[0]}, which cannot be imported ({err}): "
                            "pip install -e '.[test]' from a source checkout")

    return missing


data.add_command(prepare)
main.add_command(inspect)
main.add_command(plot)
main.add_command(sweep)
main.add_command(report)
add_runner_commands(main)

if __name__ == "__main__":
    main()
