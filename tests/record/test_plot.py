"""`localnet plot` on a recorded SDTP-alternating run made by the real CLI: every figure is
produced, every panel has data inside its axis limits, the alternating passes are shaded
where the recorded phases fall, epochs are integer ticks; and on what is not a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle
from record.recording_helpers import make_run_dir, small_config

from localnet.errors import LocalnetError
from localnet.record import RecordConfig
from localnet.record.cli import plot
from localnet.record.plot import FIGURES, build_figures, labels_for, plot_runs
from localnet.record.plot_axes import PASS_SHADES
from localnet.record.plot_figures import errors_figure, series_figure
from localnet.record.plot_run import Run

MODEL = Path(__file__).resolve().parents[2] / "models" / "mnist_fc_sdtp_alternating.toml"
N_TRAIN, BATCH = 400, 100  # 4 steps a pass, 2 passes an epoch


@pytest.fixture(scope="module")
def alternating(tmp_path_factory) -> Path:
    """The shipped SDTP-alternating MNIST-FC config, 2 epochs on 400 synthetic examples,
    every step recorded, with the angle, through `localnet run`."""
    from localnet.cli import main
    from localnet.data.synthetic import write_synthetic_mnist

    root = tmp_path_factory.mktemp("alt")
    write_synthetic_mnist(root / "mnist", n_train=N_TRAIN, n_test=100)
    out = root / "sdtp-alt"
    result = CliRunner().invoke(main, [
        "run", str(MODEL), "--epochs", "2", "--data-dir", str(root / "mnist"), "--out", str(out), "--no-progress",
        "--set", f"data.limit_train={N_TRAIN}", "--set", "data.eval_batch_size=100",
        "--record", "--record-every", "1", "--record-angle"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def figures(alternating) -> dict:
    """The figures of the alternating run, built once and drawn (final limits and ticks)."""
    built = build_figures([Run(alternating, "sdtp-alt")])
    for fig in built.values():
        if fig is not None:
            fig.canvas.draw()
    return built


def finite_points(axis) -> list[np.ndarray]:
    """(n, 2) finite data points of each line and filled band of a panel."""
    points = [line.get_xydata() for line in axis.get_lines()]
    points += [path.vertices for c in axis.collections if isinstance(c, PolyCollection) for path in c.get_paths()]
    return [p[np.isfinite(p).all(axis=1)] for p in points]


def assert_data_inside(name: str, fig, draw: bool = True) -> None:
    """Every visible panel has a curve (>= 2 finite points) and all of its data lies inside
    its x and y limits; epoch ticks are integers. draw: draw first (final limits and ticks)."""
    if draw:
        fig.canvas.draw()
    for axis in [a for a in fig.axes if a.get_visible() and a.get_lines()]:
        where = f"{name} {axis.get_title()!r}"
        points = finite_points(axis)
        assert max(len(p) for p in points) >= 2, where
        (x0, x1), (y0, y1) = sorted(axis.get_xlim()), sorted(axis.get_ylim())
        for p in points:
            assert np.all((p[:, 0] >= x0 - 1e-9) & (p[:, 0] <= x1 + 1e-9)), where
            assert np.all((p[:, 1] >= y0 - 1e-9 * abs(y0)) & (p[:, 1] <= y1 + 1e-9 * abs(y1))), where
        ticks = [t for t in axis.get_xticks() if x0 <= t <= x1]
        assert ticks and all(float(t).is_integer() for t in ticks), (where, ticks)
        assert axis.get_xlabel() == "epoch" and axis.get_ylabel(), where


def spans_of(axis) -> list[tuple[float, float, str]]:
    """The shaded pass spans of a panel: (start, end, kind) from the axvspan rectangles' colours."""
    colours = {tuple(np.round(to_rgb(c), 4)): k for k, (c, _) in PASS_SHADES.items()}
    out = []
    for patch in axis.patches:
        if isinstance(patch, Rectangle):
            kind = colours[tuple(np.round(patch.get_facecolor()[:3], 4))]
            out.append((round(patch.get_x(), 9), round(patch.get_x() + patch.get_width(), 9), kind))
    return sorted(out)


@pytest.mark.slow
def test_every_figure_of_an_alternating_run(alternating, figures):
    assert Run(alternating, "sdtp-alt").steps_per_epoch == 2 * N_TRAIN // BATCH
    assert set(figures) == set(FIGURES) and all(fig is not None for fig in figures.values()), figures
    for name, fig in figures.items():
        assert_data_inside(name, fig, draw=False)
    titles = {name: [a.get_title().split(":")[0] for a in fig.axes if a.get_visible() and a.get_lines()]
              for name, fig in figures.items()}
    hidden, all_layers = [f"layer{i}" for i in range(1, 6)], [f"layer{i}" for i in range(1, 7)]
    assert titles["inverse_error.png"] == all_layers[1:]  # layer1 has no inverse; the softmax has one
    assert titles["target_gap.png"] == hidden  # the output's gap is in errors.png
    for name in ("activations.png", "update_norm.png", "weight_norm.png", "angle.png"):
        assert titles[name] == all_layers, name
    assert len(titles["errors.png"]) == 2


@pytest.mark.slow
def test_alternating_passes_are_shaded_where_the_phases_fall(alternating, figures):
    run = Run(alternating, "sdtp-alt")
    expected = [(0.0, 0.5, "inverse"), (0.5, 1.0, "forward"), (1.0, 1.5, "inverse"), (1.5, 2.0, "forward")]
    assert run.phase_spans() == expected
    for name in ("inverse_error.png", "target_gap.png", "activations.png", "update_norm.png"):
        for axis in [a for a in figures[name].axes if a.get_visible()]:
            assert spans_of(axis) == expected, name
    # the output's ||one-hot - softmax|| exists only where targets arrive: the forward-only passes
    gap_axis = figures["errors.png"].axes[1]
    assert [k for *_, k in spans_of(gap_axis)] == ["inverse", "forward", "inverse", "forward"]
    x = np.concatenate([p[:, 0] for p in finite_points(gap_axis)])
    assert x.size == 2 * 4 and np.all((x % 1) >= 0.5), x
    # inverse-only steps have no forward update: the update norm is broken there, not bridged
    update = figures["update_norm.png"].axes[0].get_lines()[0].get_ydata()
    steps = run.record.coords("layer1")["step"]
    inverse_rows = (steps % 8) < 4
    assert np.all(np.isnan(update[inverse_rows])) and np.all(np.isfinite(update[~inverse_rows]))
    # the legend names both passes
    legend_texts = [t.get_text() for t in figures["inverse_error.png"].legends[0].get_texts()]
    assert [label for _, label in PASS_SHADES.values()] == legend_texts[-2:]


@pytest.mark.slow
def test_softmax_spread_is_quantiles_inside_its_range(alternating, figures):
    run = Run(alternating, "sdtp-alt")
    _x, q = run.quantiles("layer6", (0.05, 0.25, 0.5, 0.75, 0.95))
    assert q.shape == (16, 5) and np.all(np.diff(q, axis=1) >= 0)
    assert np.all(q >= 0) and np.all(q <= 1)
    forward = run.record.read("layer6", "forward").reshape(16, -1).astype(np.float64)
    np.testing.assert_allclose(q[:, 2], np.median(forward, axis=1))
    softmax = next(a for a in figures["activations.png"].axes if a.get_title().startswith("layer6"))
    bands = [path.vertices[:, 1] for c in softmax.collections for path in c.get_paths()]
    assert len(bands) == 2 and all(np.all(b[np.isfinite(b)] >= 0) for b in bands)


@pytest.mark.slow
def test_mean_std_fallback_never_goes_below_zero_for_softmax(tmp_path, data_dir):
    """Without the forward probe the spread is mean +- std, clipped to [0, 1] for softmax."""
    probes = ("act_mean", "act_std", "inverse_error", "target_gap")
    path = make_run_dir(tmp_path / "sdtp", small_config("sdtp", schedule="alternating"),
                        RecordConfig(enabled=True, every=1, chunk=4, probes=probes), data_dir)
    # a confident softmax (a few outputs near 1, most near 0): std 0.3 around the mean 0.1
    std = zarr.open_array(path / "record.zarr" / "layer3" / "act_std", mode="r+")
    std[:] = np.full(std.shape, 0.3, dtype=std.dtype)
    run = Run(path, "sdtp")
    assert run.quantiles("layer3", (0.5,)) is None
    fig = build_figures([run])["activations.png"]
    assert_data_inside("activations.png", fig)
    softmax = next(a for a in fig.axes if a.get_title().startswith("layer3"))
    mean = run.series("act_mean")["layer3"][1]
    assert np.all(mean - 0.3 < 0)  # what an unclipped band would draw
    band = softmax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.all(band >= 0) and np.all(band <= 1) and band.min() == 0


@pytest.mark.slow
def test_one_epoch_run_shows_the_curve_within_the_epoch(tmp_path, data_dir):
    config = small_config("sdtp", schedule="alternating")
    recorded = make_run_dir(tmp_path / "rec", config, RecordConfig(enabled=True, every=1, chunk=4), data_dir,
                            epochs=1)
    fig = build_figures([Run(recorded, "rec")])["errors.png"]
    assert_data_inside("errors.png", fig)
    assert len(fig.axes) == 1  # no per-epoch panel of one dot
    within = np.concatenate(finite_points(fig.axes[0]))
    assert len(within) == 6 and np.all(within[:, 0] < 1)  # 48 examples / batch 8: 6 forward-pass steps
    row = Run(recorded, "rec").metrics[0]
    assert next(t.get_text() for t in fig.legends[0].get_texts()) == (
        f"after epoch 1: test error {row['test_error']:.2f} %, train error {row['train_error']:.2f} %")
    plain = make_run_dir(tmp_path / "plain", config, None, data_dir, epochs=1)
    fig = build_figures([Run(plain, "plain")])["errors.png"]
    assert len(fig.axes) == 1 and "--record" in fig.axes[0].texts[0].get_text()


@pytest.mark.slow
def test_overlaid_runs_share_the_epoch_axis(alternating, tmp_path, data_dir):
    bp = make_run_dir(tmp_path / "bp", small_config("bp"), RecordConfig(enabled=True, every=2, chunk=4), data_dir)
    runs = [Run(p, label) for p, label in zip([bp, alternating], labels_for([bp, alternating]))]
    errors = errors_figure(runs)
    weights = series_figure(runs, "weight_norm", "weights", "norm")
    for name, fig in (("errors", errors), ("weights", weights)):
        assert_data_inside(name, fig)
    assert {line.get_label() for line in errors.axes[0].get_lines()} == {"bp: test", "bp: train", "sdtp-alt: test",
                                                                        "sdtp-alt: train"}
    assert errors.axes[0].get_xlim()[1] == pytest.approx(2.05)  # both runs on one epoch axis
    assert weights.legends[0].get_title().get_text() == "shaded: the passes of sdtp-alt"
    assert [t.get_text() for t in weights.legends[0].get_texts()][:2] == ["bp", "sdtp-alt"]


@pytest.mark.slow
def test_cli_writes_every_png(tmp_path, data_dir):
    run = make_run_dir(tmp_path / "run", small_config("sdtp", schedule="alternating"),
                       RecordConfig(enabled=True, every=1, chunk=4, angle=True), data_dir)
    out = tmp_path / "plots"
    result = CliRunner().invoke(plot, [str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURES)
    for name in FIGURES:
        assert f"wrote {out / name}" in result.output and (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("setup", ["empty", "other_files", "missing"])
def test_plot_on_what_is_not_a_run_is_one_line_and_writes_nothing(tmp_path, setup):
    target = tmp_path / "dir"
    if setup != "missing":
        target.mkdir()
    if setup == "other_files":
        (target / "notes.txt").write_text("not a run")
    result = CliRunner().invoke(plot, [str(target)])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert ("does not exist" if setup == "missing" else "is not a run directory") in errors[0]
    assert "localnet run" in errors[0]
    assert not (target / "plots").exists()
    with_out = CliRunner().invoke(plot, [str(target), "--out", str(tmp_path / "elsewhere")])
    assert with_out.exit_code == 1 and not (tmp_path / "elsewhere").exists()


def test_run_without_anything_to_plot_writes_nothing(tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    (run / "config.toml").write_text('name = "fresh"\n')
    (run / "metrics.jsonl").write_text("")
    with pytest.raises(LocalnetError, match="nothing to plot"):
        plot_runs([run])
    assert not (run / "plots").exists()
