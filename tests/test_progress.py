"""Progress off a terminal: a line every tenth of an epoch with the step, examples/s and ETA."""

from __future__ import annotations

import io

from click.testing import CliRunner

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.progress import LineProgress, progress_factory


def test_a_line_every_tenth_with_step_rate_and_eta():
    now = [0.0]
    out = io.StringIO()
    bar = LineProgress(3, 100, 20, out, clock=lambda: now[0])
    for _ in range(20):  # 20 steps of 5 examples, 0.5 s each: 10 examples/s
        now[0] += 0.5
        bar.update(5)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 9  # 10% ... 90%; the epoch's own line follows the last step
    assert lines[0] == "epoch 3:  10% step 2/20, 10/100 examples, 10 ex/s, ETA 9 s"
    assert lines[2] == "epoch 3:  30% step 6/20, 30/100 examples, 10 ex/s, ETA 7 s"
    assert lines[-1].startswith("epoch 3:  90% step 18/20, 90/100 examples")


def test_uneven_steps_give_one_line_per_tenth_crossed():
    out = io.StringIO()
    bar = LineProgress(1, 1000, 3, out)
    for n in (150, 700, 150):  # crosses 10%, then 20%..80% at once, then the end
        bar.update(n)
    assert [line.split()[2] for line in out.getvalue().splitlines()] == ["10%", "80%"]


def test_a_terminal_gets_a_bar_and_a_log_gets_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_factory(True, io.StringIO())(1, 10, 2), LineProgress)
    bar = progress_factory(True, Terminal())(1, 10, 2)
    assert type(bar).__name__ == "tqdm"
    bar.close()
    assert progress_factory(False) is None


def test_run_into_a_log_prints_progress_lines(tmp_path):
    write_synthetic_mnist(tmp_path / "mnist", n_train=80, n_test=10)
    config = tmp_path / "c.toml"
    config.write_text('name = "c"\n[data]\nbatch_size = 8\n[[layers]]\ntype = "dense"\nunits = 6\n'
                      '[[layers]]\ntype = "softmax"\nunits = 10\n[rule]\nname = "fa"\n[train]\nepochs = 2\n')
    result = CliRunner().invoke(main, ["run", str(config), "--data-dir", str(tmp_path / "mnist"),
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for epoch in (1, 2):
        progress = [line for line in lines if line.startswith(f"epoch {epoch}:")]
        assert [line.split()[2] for line in progress] == [f"{p}%" for p in range(10, 100, 10)], result.output
        assert all(" ex/s, ETA " in line and "/80 examples" in line and "/10, " in line for line in progress)
        assert lines.index(progress[-1]) < next(i for i, line in enumerate(lines) if line.startswith(f"epoch   {epoch}/"))
    quiet = CliRunner().invoke(main, ["run", str(config), "--data-dir", str(tmp_path / "mnist"),
                                      "--out", str(tmp_path / "quiet"), "--no-progress"])
    assert quiet.exit_code == 0 and "ETA" not in quiet.output
