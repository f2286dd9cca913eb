"""runners.make_configs is the single source of the generated configs: models/ matches it."""

from __future__ import annotations

from pathlib import Path

from runners import make_configs

MODELS = Path(__file__).parents[2] / "models"


def test_generated_configs_match_the_shipped_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(make_configs, "MODELS", tmp_path)
    make_configs.main()
    written = sorted(p.name for p in tmp_path.glob("*.toml"))
    assert len(written) == 29 and "mnist_lc_sdtp_alternating.toml" in written
    for name in written:
        assert (tmp_path / name).read_text() == (MODELS / name).read_text(), f"{name}: rerun python -m runners.make_configs"
    assert "1e-05" in (tmp_path / "mnist_lc_sdtp_parallel.toml").read_text()  # INVERSE_LR applied
    assert "lr = 0.001652" in (tmp_path / "mnist_lc_aosdtp_parallel.toml").read_text()  # not measured: Table 5's
