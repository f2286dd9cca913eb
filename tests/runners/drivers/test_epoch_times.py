"""runners.drivers.epoch_times: one short timed epoch per config, projected to a full epoch."""

from __future__ import annotations

from click.testing import CliRunner
from helpers import small_toml

from localnet.data.synthetic import write_synthetic_mnist
from runners.drivers.epoch_times import PAPER_EPOCHS, main, measure, table


def test_every_config_of_the_grid_is_timed_and_projected(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mnist_fc_fa.toml").write_text(small_toml(name="mnist_fc_fa", epochs=3))
    (models / "mnist_fc_bp.toml").write_text(small_toml(name="mnist_fc_bp").replace('name = "fa"', 'name = "bp"'))
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    row = measure(models / "mnist_fc_fa.toml", 16, str(data))
    assert row["config"] == "mnist_fc_fa" and row["passes"] == 1 and row["epochs"] == 3
    # the official split: 60,000 training images, a 10,000-image train-error subset, 10,000 test images
    expected = 60000 / row["train_rate"] + 20000 / row["eval_rate"]
    assert abs(row["epoch"] - expected) < 1e-6 * expected
    text = table([row])
    assert f"| {row['epoch'] * PAPER_EPOCHS / 3600:,.0f} |" in text.splitlines()[2]
    result = CliRunner().invoke(main, ["mnist_fc", "--examples", "16", "--data-dir", str(data), "--models", str(models)])
    assert result.exit_code == 0, result.output
    assert [line.split(" |")[0] for line in result.output.splitlines() if line.startswith("| mnist")] == [
        "| mnist_fc_bp", "| mnist_fc_fa"]
