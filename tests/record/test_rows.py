"""The recorder's row buffers: NaN until written, whole-chunk take, checkpoint round trip."""

from __future__ import annotations

import numpy as np

from localnet.record.rows import RowBuffers


def fill(rows, steps):
    for step in steps:
        rows.buffer("layer1", "forward", (2, 3))[rows.row] = rows.xp.full((2, 3), step)
        if step % 2:  # a probe seen only on odd steps: its other rows stay NaN
            rows.buffer("layer1", "angle", ())[rows.row] = step
        full = rows.end_row(step, 0, "forward+feedback")
    return full


def test_rows_fill_to_a_chunk_and_take_empties_them(xp_backend):
    rows = RowBuffers(xp_backend, chunk=3)
    assert not fill(rows, [0, 1]) and fill(rows, [2])
    shapes, coords, data = rows.take()
    assert shapes == {("layer1", "forward"): (2, 3), ("layer1", "angle"): ()}
    assert coords["step"].tolist() == [0, 1, 2] and list(coords["phase"]) == ["forward+feedback"] * 3
    assert data[("layer1", "forward")][:, 0, 0].tolist() == [0, 1, 2]
    angle = data[("layer1", "angle")]
    assert np.isnan(angle[0]) and angle[1] == 1 and np.isnan(angle[2])
    assert rows.row == 0 and rows.coords["step"] == []
    assert bool(xp_backend.xp.isnan(rows.buffers[("layer1", "forward")]).all())  # nothing stale


def test_checkpoint_state_restores_the_unflushed_rows(xp_backend):
    rows = RowBuffers(xp_backend, chunk=4)
    fill(rows, [5, 6])
    state = rows.state()
    assert RowBuffers.first_step(state) == 5 and RowBuffers.first_step({}) is None
    again = RowBuffers(xp_backend, chunk=4)
    again.restore(state)
    assert again.row == 2 and again.coords == rows.coords
    fill(rows, [7, 8])
    fill(again, [7, 8])
    (_, c1, d1), (_, c2, d2) = rows.take(), again.take()
    assert c1["step"].tolist() == c2["step"].tolist() == [5, 6, 7, 8]
    for key in d1:
        np.testing.assert_array_equal(d1[key], d2[key])
    empty = RowBuffers(xp_backend, chunk=4).state()
    assert RowBuffers.first_step(empty) is None
