"""runners.bench.parts: every part runs, its variants agree where they must."""

from __future__ import annotations

import numpy as np

from runners.bench import parts as bench_parts


def test_parts_run_and_print_each_variant(capsys):
    bench_parts.main(["adam", "--sizes", "3000,70", "--blocks", "1024,0", "--rounds", "2", "--calls", "2"], standalone_mode=False)
    bench_parts.main(["adam-threads", "--rounds", "1", "--calls", "1"], standalone_mode=False)
    bench_parts.main(["noise", "--rounds", "1", "--calls", "1"], standalone_mode=False)
    out = capsys.readouterr().out
    for name in ("block 1024", "block none", "one thread", "two threads", "ziggurat f32", "Box-Muller f32"):
        assert name in out


def test_box_muller_gives_standard_normals():
    z = bench_parts.box_muller(np.random.default_rng(0), (400, 250))
    assert z.shape == (400, 250) and z.dtype == np.float32 and np.isfinite(z).all()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
