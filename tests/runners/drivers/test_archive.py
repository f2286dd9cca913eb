"""runners.drivers.archive: the text files of runs and sweeps are copied; nothing else is."""

from __future__ import annotations

from click.testing import CliRunner

from runners.drivers.archive import main


def test_a_run_and_a_sweep_keep_their_text_files_only(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for name in ("config.toml", "metrics.jsonl", "summary.json", "params.npz", "checkpoints/ckpt-1.npz"):
        (run / name).write_text(name)
    sweep = tmp_path / "sweep"
    (sweep / "runs" / "trial000").mkdir(parents=True)
    for name in ("config.toml", "space.toml", "sweep.json", "trials.csv", "runs/trial000/metrics.jsonl",
                 "runs/trial000/config.toml", "runs/trial000/params.npz", "runs/trial000.log"):
        (sweep / name).write_text(name)
    to = tmp_path / "archive"
    result = CliRunner().invoke(main, [str(run), str(sweep), "--to", str(to)])
    assert result.exit_code == 0, result.output
    kept = sorted(str(p.relative_to(to)) for p in to.rglob("*") if p.is_file())
    assert kept == ["run/config.toml", "run/metrics.jsonl", "run/summary.json", "sweep/config.toml",
                    "sweep/runs/trial000/config.toml", "sweep/runs/trial000/metrics.jsonl", "sweep/space.toml",
                    "sweep/sweep.json", "sweep/trials.csv"]
    assert (to / "run" / "metrics.jsonl").read_text() == "metrics.jsonl"


def test_a_folder_that_is_neither_is_refused(tmp_path):
    result = CliRunner().invoke(main, [str(tmp_path), "--to", str(tmp_path / "a")])
    assert result.exit_code == 1
    assert "neither a run directory" in result.output
