"""Per-epoch means of a recorded probe, one row per layer, as a markdown table.

    python -m runners.drivers.probe_epochs RUN_DIR --probe angle [--probe target_gap] [--every 3]

RUN_DIR holds a record.zarr (`localnet run CONFIG --record [--record-angle]`). Each cell is
the mean of the probe over that epoch's recorded steps where it is defined (a forward
update's angle is NaN on inverse-only steps and is skipped). Scalar probes only (angle,
target_gap, inverse_error, update_norm, weight_norm, act_mean, act_std).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import zarr

from localnet.zarr_nodes import array_at, group_at


def epoch_means(run_dir: Path, probe: str) -> tuple[list[int], dict[str, list[float]]]:
    """(epochs, {layer: [mean of `probe` in each epoch]}) for the layers that recorded it."""
    root = zarr.open_group(str(Path(run_dir) / "record.zarr"), mode="r")
    layers = sorted((name for name in root.group_keys() if probe in group_at(root, name)), key=_layer_order)
    if not layers:
        raise SystemExit(f"{run_dir}: no layer recorded probe {probe!r}; record it (e.g. --record-angle for angle)")
    epochs = sorted(set(np.asarray(array_at(root, f"{layers[0]}/epoch")[:]).tolist()))
    table = {}
    for name in layers:
        values = np.asarray(array_at(root, f"{name}/{probe}")[:], dtype=np.float64)
        if values.ndim != 1:
            raise SystemExit(f"{probe!r} is a tensor probe (shape {values.shape}); pick a scalar one")
        epoch = np.asarray(array_at(root, f"{name}/epoch")[:])
        table[name] = [_nanmean(values[epoch == e]) for e in epochs]
    return epochs, table


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _layer_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


def markdown(epochs: list[int], table: dict[str, list[float]], probe: str, every: int = 1) -> str:
    keep = [i for i, e in enumerate(epochs) if (e - epochs[0]) % every == 0 or i == len(epochs) - 1]
    head = f"| {probe} \\ epoch | " + " | ".join(str(epochs[i]) for i in keep) + " |"
    lines = [head, "|---" * (len(keep) + 1) + "|"]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(row[i]) for i in keep) + " |")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.2f}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path), metavar="RUN_DIR...")
@click.option("--probe", "probes", multiple=True, required=True, help="Scalar probe (repeatable).")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Show every N-th epoch (and the last).")
def main(run_dirs: tuple[Path, ...], probes: tuple[str, ...], every: int) -> None:
    """Per-epoch means of scalar probes from each RUN_DIR's record.zarr, as Markdown tables."""
    for run_dir in run_dirs:
        if not (run_dir / "record.zarr").is_dir():
            raise click.ClickException(f"{run_dir}: no record.zarr; run with --record to make one")
        for probe in probes:
            epochs, table = epoch_means(run_dir, probe)
            click.echo(f"{run_dir}\n\n{markdown(epochs, table, probe, every)}\n")

if __name__ == "__main__":
    main()
