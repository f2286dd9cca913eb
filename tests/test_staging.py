"""localnet.staging: batches reach the device unchanged, in order, and the source is closed;
on numpy nothing is read ahead; on CuPy (gpu) the ring of pinned buffers never corrupts a
batch already handed out, while the consumer keeps the device busy."""

from __future__ import annotations

import numpy as np
import pytest

from localnet.staging import staged

from .test_backend import cupy_or_skip


def host_batches(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """uint8 image batches of the given sizes (the last ones may be smaller) with int64 labels."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256, size=(n, 6, 5, 3), dtype=np.uint8), rng.integers(0, 10, size=n))
            for n in sizes]


class Source:
    """An iterator over batches that records how far it was read and whether it was closed."""

    def __init__(self, batches):
        self.batches, self.read, self.closed = batches, 0, False

    def __iter__(self):
        return self

    def __next__(self):
        if self.read == len(self.batches):
            raise StopIteration
        self.read += 1
        return self.batches[self.read - 1]

    def close(self):
        self.closed = True


@pytest.mark.parametrize("sizes", [[4, 4, 4, 3], [7], [], [2, 5, 1, 5, 5, 2]])
def test_every_batch_arrives_unchanged_and_in_order(xp_backend, sizes):
    batches = host_batches(sizes)
    out = list(staged(xp_backend, Source(batches)))  # kept: later copies must not overwrite earlier batches
    xp_backend.synchronize()
    assert len(out) == len(batches)
    for (x, y), (xd, yd) in zip(batches, out, strict=True):
        assert isinstance(xd, xp_backend.xp.ndarray)
        np.testing.assert_array_equal(xp_backend.to_host(xd), x)
        np.testing.assert_array_equal(xp_backend.to_host(yd), y)
        assert xd.dtype == np.uint8 and yd.dtype == y.dtype


def test_numpy_reads_nothing_ahead_and_hands_out_views():
    from localnet.backend import get_backend

    backend = get_backend("numpy")
    batches = host_batches([3, 3, 3])
    source = Source(batches)
    stream = staged(backend, source)
    xd, _ = next(stream)
    assert source.read == 1  # the trainer's augmentation state may follow the source step by step
    assert np.shares_memory(xd, batches[0][0])
    next(stream)
    assert source.read == 2


def test_closing_early_closes_the_source(xp_backend):
    source = Source(host_batches([2, 2, 2, 2]))
    stream = staged(xp_backend, source)
    next(stream)
    stream.close()
    assert source.closed
    assert source.read <= 2  # at most one batch read ahead


def test_an_error_in_the_source_reaches_the_consumer_and_closes_it(xp_backend):
    class Failing(Source):
        def __next__(self):
            if self.read == 2:
                raise OSError("shard 7 unreadable")
            return super().__next__()

    source = Failing(host_batches([2, 2, 2, 2]))
    with pytest.raises(OSError, match="shard 7"):
        list(staged(xp_backend, source))
    assert source.closed


@pytest.mark.gpu
def test_cupy_copies_overlap_a_busy_compute_stream_without_corrupting_batches():
    """Each handed-out batch is consumed by kernels queued behind a long matmul; the copies of
    later batches reuse the pinned ring meanwhile. Sums computed on the device must match the host."""
    gpu = cupy_or_skip()
    cp = gpu.xp
    batches = host_batches([64] * 12 + [17], seed=3)
    busy = cp.ones((2048, 2048), dtype=cp.float32)
    sums = []
    for xd, _ in staged(gpu, iter(batches), ahead=2):
        busy = busy @ busy / 2048  # keeps the compute stream busy while the next copy is queued
        sums.append(xd.astype(cp.int64).sum(axis=(1, 2, 3)))
    gpu.synchronize()
    for (x, _), total in zip(batches, sums, strict=True):
        np.testing.assert_array_equal(cp.asnumpy(total), x.astype(np.int64).sum(axis=(1, 2, 3)))
