"""A sweep's --out: one sweep at a time (sweep.lock), and never a folder of someone else's
files (an unrelated config.toml or report.md, or a run directory): refused with one line,
every file left as it was."""

from __future__ import annotations

from click.testing import CliRunner
from sweep.sweep_helpers import REPO, sweep_args, write_files

from localnet.cli import main
from localnet.lock import RunLock
from localnet.sweep.driver import LOCK


def _files_of(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_second_sweep_on_the_same_out_is_refused(tmp_path):
    files = write_files(tmp_path)
    out = tmp_path / "sweep"
    out.mkdir()
    with RunLock(out, LOCK, "sweep directory"):  # another sweep holds it
        result = CliRunner().invoke(main, sweep_args(files, out, "--trials", "2", "--epochs", "1"))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.output.startswith(f"error: sweep directory {out} is in use by a running localnet (pid ")
    assert sorted(p.name for p in out.iterdir()) == []  # nothing written (the lock file goes with its holder)


def test_an_out_of_other_files_is_refused_and_left_as_it_was(tmp_path):
    files = write_files(tmp_path)
    for name, text in (("config.toml", "mine = true\n"), ("report.md", "# my report\n")):
        out = tmp_path / f"theirs-{name}"
        out.mkdir()
        (out / name).write_text(text)
        before = _files_of(out)
        result = CliRunner().invoke(main, sweep_args(files, out, "--trials", "2", "--epochs", "1"))
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert result.output.strip() == (f"error: {out} holds files that are not a localnet sweep (e.g. {name}): "
                                         "nothing was changed; choose a new or empty --out (or the --out of the "
                                         "sweep to resume)")
        assert _files_of(out) == before and sorted(p.name for p in out.iterdir()) == [name]


def test_a_run_directory_is_not_a_sweep_directory(tmp_path):
    files = write_files(tmp_path)
    run = tmp_path / "run"
    made = CliRunner().invoke(main, ["run", str(files / "tiny.toml"), "--out", str(run), "--epochs", "1",
                                     "--no-progress", "--data-dir", str(REPO / "data" / "mnist")])
    assert made.exit_code == 0, made.output
    before = _files_of(run)
    result = CliRunner().invoke(main, sweep_args(files, run, "--trials", "2", "--epochs", "1"))
    assert result.exit_code == 2 and "holds files that are not a localnet sweep" in result.output
    assert _files_of(run) == before


def test_a_trial_that_finished_unrecorded_is_done_on_the_rerun(tmp_path):
    """Killed between a trial's exit and the table's save, the table says "running" for a
    trial that finished: the rerun records it as done and trains nothing."""
    import csv

    files = write_files(tmp_path)
    out = tmp_path / "sweep"
    args = sweep_args(files, out, "--trials", "2", "--epochs", "1", "--jobs", "1")
    assert CliRunner().invoke(main, args).exit_code == 0
    with (out / "trials.csv").open() as handle:
        rows = list(csv.reader(handle))
    status = rows[0].index("status")
    rows[1][status] = "running"  # as the kill left it
    with (out / "trials.csv").open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    rerun = CliRunner().invoke(main, args)
    assert rerun.exit_code == 0 and "training " not in rerun.output, rerun.output
    with (out / "trials.csv").open() as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["done", "done"]
