"""`localnet bench`: the benchmarks as a localnet command.

localnet/cli.py finds this command through the `localnet.commands` entry-point group
(pyproject.toml), so the library never imports runners/.
"""

from __future__ import annotations

from pathlib import Path

import click

from localnet.errors import LocalnetError, friendly_errors


@click.command()
@click.option("--suite", type=click.Choice(["fc", "lc", "all"]), default="fc", show_default=True,
              help="fc: training examples/s per rule on MNIST-FC vs PyTorch; lc: LC kernel GFLOP/s on the "
                   "CIFAR-LC layer shapes vs a torch unfold LC and numpy sgemm peak; all: both.")
@click.option("--rules", default="bp,fa,dfa,tp,dtp,sdtp,aosdtp", show_default=True,
              help="fc suite: rules to time (bp, fa, dfa also against PyTorch; TP rules against BP).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default: 100 for fc, 128 for lc).")
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True, help="fc: timed steps per round.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Alternating timed rounds per implementation; the best round and the median per-round ratio "
                   "are reported.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="fc: also write results here.")
@click.option("--cpu-time", is_flag=True,
              help="Time CPU seconds of this process instead of wall time (with OPENBLAS_NUM_THREADS=1: the work "
                   "done, whatever else runs on the machine).")
@friendly_errors
def bench(suite: str, rules: str, batch_size: int | None, steps: int, repeats: int, json_out: Path | None,
          cpu_time: bool) -> None:
    """Benchmarks, measured side by side with a reference in one run (needs torch).

    torch is only the reference here: pip install -e '.[test]'. Run on an idle machine.
    """
    try:
        from .fc import run_bench  # noqa: PLC0415 - torch is optional: only this command needs it
        from .lc import run_lc_bench  # noqa: PLC0415
    except ImportError as err:
        raise LocalnetError(f"the benchmark needs torch ({err}): pip install -e '.[test]'") from None
    if suite in ("fc", "all"):
        run_bench([r.strip() for r in rules.split(",") if r.strip()], batch_size or 100, steps, repeats, json_out,
                  click.echo, cpu_time)
    if suite in ("lc", "all"):
        run_lc_bench(batch_size or 128, repeats, click.echo, cpu_time)
