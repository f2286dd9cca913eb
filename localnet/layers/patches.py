"""Patch kernels shared by the locally-connected and convolutional layers.

Images are channel-last, (B, H, W, C). A layer with a k x k kernel and stride s sees, at each
of its P = out_h * out_w output positions, a patch of K = k * k * C input values, ordered
(kernel row, kernel column, channel) as in TensorFlow's (k, k, C_in, C_out) kernels.

- `im2col(x)`: (B, H, W, C) -> columns (P, B, K), every patch copied out once, so a layer's
  forward pass is one position-batched GEMM (P, B, K) @ (P, K, C_out).
- `col2im(cols)`: (P, B, K) -> (B, H, W, C), the adjoint of im2col: each column entry is added
  back onto the input pixel it was copied from (entries that read zero padding are dropped).

Padding is TensorFlow's SAME: out = ceil(in / s), total pad = max((out - 1) * s + k - in, 0),
with total // 2 before and the rest after.

Memory layouts (they decide the speed; the (P, B, K) views are what callers see):
- im2col fills a C-contiguous (B, P, K) buffer with ONE strided copy from a windowed view of
  the padded image (inner run k * C contiguous values) and returns its (P, B, K) transposed
  view. Each position's (B, K) matrix is still a BLAS operand (unit stride along K, leading
  dimension P * K), so the per-position GEMMs need no copy; reshaped to (B * P, K) the same
  buffer is the single GEMM operand of a convolution.
- col2im is fastest from a C-contiguous (P, K, B) buffer (batch last), which the transpose
  GEMM W (P, K, C_out) @ delta^T (P, C_out, B) writes directly: each of the k * k strided adds
  then moves contiguous runs of C * B values (>= B) instead of C values (3 for an RGB input).
  The image is accumulated batch-last as (H, W, C, B) and transposed to (B, H, W, C) once at
  the end. On the CIFAR-LC shapes (batch 128, numpy, a shared 2-core CPU) this was about 5-10x
  faster, final transpose included, than the same k * k adds batch-first. Any other (P, B, K)
  array is accepted (at the cost of one extra copy).

On CuPy the same array code runs (im2col one strided copy, col2im k * k strided adds, the
layers' GEMMs batched cuBLAS calls through matmul). One CUDA kernel is kept as an option:
`PatchGeometry(..., gpu_kernel=True)` does col2im as a gather, one pass over the columns
instead of k * k read-modify-write passes over the image. `col2im_gather` is its numpy twin,
the same algorithm line for line, which the GPU test compares it with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Backend


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(out, pad_before, pad_after) of TF SAME padding along one spatial axis of length size."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def patch_estimate(in_shape: tuple[int, ...], kernel: int, c_out: int,
                   stride: int) -> tuple[tuple[int, int, int], int, int]:
    """((out_h, out_w, C_out), positions P, patch size K) of a patch layer on in_shape, in
    exact Python ints and without allocating; ValueError if it cannot apply there."""
    if len(in_shape) != 3:
        raise ValueError(f"needs an image input (H, W, C) but gets shape {tuple(in_shape)} from the layer below: "
                         f"put conv/locally_connected layers before any dense/flatten layer")
    h, w, c_in = (int(n) for n in in_shape)
    if kernel > max(h, w):
        raise ValueError(f"has kernel {kernel}, larger than its {h} x {w} input: use a kernel <= {max(h, w)}")
    out_h, out_w = same_padding(h, kernel, stride)[0], same_padding(w, kernel, stride)[0]
    return (out_h, out_w, c_out), out_h * out_w, kernel * kernel * c_in


def image_shape(in_shape: tuple[int, ...], layer: str) -> tuple[int, int, int]:
    """in_shape as (H, W, C), or a ValueError naming the layer type and the shape it got."""
    if len(in_shape) != 3 or any(int(n) < 1 for n in in_shape):
        raise ValueError(
            f"{layer} layer needs an image input of unit shape (H, W, C) (channel-last, e.g. "
            f"(28, 28, 1) for MNIST), got {tuple(in_shape)}; put it before any dense/flatten layer")
    return int(in_shape[0]), int(in_shape[1]), int(in_shape[2])


# CuPy gather form of col2im (opt-in: gpu_kernel=True): one thread per input value sums, in a
# double, the (at most k*k) column entries copied from it, kernel rows then columns in
# ascending order. Its numpy twin is `col2im_gather`; tests/layers/test_patches.py checks the
# twin against the strided adds on the CPU and the kernel against the twin on a GPU.
# UNTESTED ON A GPU: no GPU test has run yet (runners/device_check runs them).
_COL2IM_CUDA = r"""
    // Thread i -> (y, x, c, b) in C order, so neighbouring threads read neighbouring cols.
    // cols: contiguous (P, K, B) = (out_h, out_w, kernel, kernel, channels, batch);
    // out: contiguous (batch, height, width, channels).
    long long t = i;
    const long long b = t % batch; t /= batch;
    const int c = t % channels; t /= channels;
    const int xx = t % width;
    const int yy = t / width;
    const int py = yy + pad_top, px = xx + pad_left;
    double acc = 0;
    for (int ki = 0; ki < kernel; ++ki) {
        const int dy = py - ki;
        if (dy < 0 || dy % stride != 0 || dy / stride >= out_h) continue;
        for (int kj = 0; kj < kernel; ++kj) {
            const int dx = px - kj;
            if (dx < 0 || dx % stride != 0 || dx / stride >= out_w) continue;
            const long long p = (long long)(dy / stride) * out_w + dx / stride;
            acc += cols[(((p * kernel + ki) * kernel + kj) * channels + c) * batch + b];
        }
    }
    out[((b * height + yy) * width + xx) * channels + c] = acc;
"""


class PatchGeometry:
    """The k x k / stride-s SAME patch geometry of one (H, W, C) input, computed once per layer.

    Attributes: in_shape (H, W, C); out_h, out_w; positions P; patch_size K = k * k * C;
    pads (top, bottom, left, right); padded_hw; offsets: for each kernel offset (ki, kj), the
    strided slices of the padded image that it reads at the out_h x out_w positions.
    gpu_kernel: on CuPy, do col2im with the gather kernel instead of the strided adds.
    """

    def __init__(self, in_shape: tuple[int, int, int], kernel: int, stride: int, backend: Backend,
                 gpu_kernel: bool = False) -> None:
        h, w, c = in_shape
        self.in_shape = (h, w, c)
        self.kernel, self.stride = kernel, stride
        self.xp = backend.xp
        self.out_h, top, bottom = same_padding(h, kernel, stride)
        self.out_w, left, right = same_padding(w, kernel, stride)
        self.pads = (top, bottom, left, right)
        self.padded_hw = (h + top + bottom, w + left + right)
        self.positions = self.out_h * self.out_w
        self.patch_size = kernel * kernel * c
        span_h, span_w = (self.out_h - 1) * stride + 1, (self.out_w - 1) * stride + 1
        self.offsets = [(ki, kj, slice(ki, ki + span_h, stride), slice(kj, kj + span_w, stride))
                        for ki in range(kernel) for kj in range(kernel)]
        self._gather = None
        if backend.name == "cupy" and gpu_kernel:
            self._gather = self.xp.ElementwiseKernel(
                "raw T cols, int32 batch, int32 height, int32 width, int32 channels, int32 kernel, int32 stride, "
                "int32 out_h, int32 out_w, int32 pad_top, int32 pad_left", "raw T out", _COL2IM_CUDA,
                "localnet_col2im")

    def im2col(self, x: Any) -> Any:
        """Patches of x (B, H, W, C) as columns (P, B, K); position p = row * out_w + column."""
        xp = self.xp
        batch, (h, w, c), k, s = x.shape[0], self.in_shape, self.kernel, self.stride
        top, _bottom, left, _right = self.pads
        padded = x
        if any(self.pads):
            padded = xp.zeros((batch, *self.padded_hw, c), dtype=x.dtype)
            padded[:, top:top + h, left:left + w] = x
        # A window view (B, out_h, out_w, k, k, C) of the padded image, only ever read: moving
        # one output position moves s pixels, one kernel offset moves one pixel. Copying it is
        # the whole of im2col; for a contiguous image the innermost (kj, C) pair is one
        # contiguous run per patch row. Explicit strides make it correct for any input strides.
        sb, sh, sw, sc = padded.strides
        windows = xp.lib.stride_tricks.as_strided(
            padded, (batch, self.out_h, self.out_w, k, k, c), (sb, s * sh, s * sw, sh, sw, sc))
        cols = xp.empty((batch, self.out_h, self.out_w, k, k, c), dtype=x.dtype)
        cols[...] = windows
        return cols.reshape(batch, self.positions, self.patch_size).transpose(1, 0, 2)

    def col2im(self, cols: Any) -> Any:
        """Scatter-add columns (P, B, K) back onto the image: (B, H, W, C), the adjoint of im2col.

        Fastest when cols is the (P, B, K) view of a contiguous (P, K, B) array (see module doc).
        """
        xp = self.xp
        batch, (h, w, c), k = cols.shape[1], self.in_shape, self.kernel
        top, _, left, _ = self.pads
        batch_last = xp.ascontiguousarray(cols.transpose(0, 2, 1))  # no copy in the fast layout
        if self._gather is not None:
            out = xp.empty((batch, h, w, c), dtype=cols.dtype)
            self._gather(batch_last, batch, h, w, c, k, self.stride, self.out_h, self.out_w, top, left,
                         out, size=out.size)
            return out
        columns6 = batch_last.reshape(self.out_h, self.out_w, k, k, c, batch)
        padded = xp.zeros((*self.padded_hw, c, batch), dtype=cols.dtype)
        for ki, kj, rows, columns in self.offsets:  # k*k strided block adds; overlaps accumulate
            padded[rows, columns] += columns6[:, :, ki, kj]
        return xp.ascontiguousarray(padded[top:top + h, left:left + w].transpose(3, 0, 1, 2))


class KeptPatches:
    """The im2col columns of a training step's forward input, kept for its weight gradient.

    The weight gradient is the transposed GEMM over the same columns the forward pass built
    (as torch autograd keeps an unfold), so a training step copies its patches out once, not
    twice. `take(x)` hands them back only for the very array object they were built from
    (the engine never changes a message in place) and forgets them; anything else is a
    miss and the caller recomputes. Costs P * K values per example while kept
    (`Layer.kept_per_example`, counted by `localnet plan`).
    """

    def __init__(self) -> None:
        self._x: Any = None
        self._cols: Any = None

    def keep(self, x: Any, cols: Any) -> None:
        self._x, self._cols = x, cols

    def take(self, x: Any) -> Any:
        """The columns kept for x, or None."""
        if self._x is not x:  # never None: x is an array
            return None
        cols, self._x, self._cols = self._cols, None, None
        return cols


def col2im_gather(geometry: PatchGeometry, cols: np.ndarray) -> np.ndarray:
    """The numpy twin of the CUDA gather kernel: col2im of cols (P, B, K) -> (B, H, W, C).

    Same algorithm as `_COL2IM_CUDA`: every output value (y, x, c, b) sums, in float64 and
    in the kernel's order (kernel row ki, then column kj, ascending), the column entries
    cols[p, b, (ki, kj, c)] at the positions p whose window covers (y, x); the sum is cast
    to cols' dtype once. The kernel's per-thread loop runs here as whole-image steps over
    (ki, kj), each adding to every output pixel its one source at that offset.
    """
    (h, w, c), k, s = geometry.in_shape, geometry.kernel, geometry.stride
    top, _, left, _ = geometry.pads
    batch = cols.shape[1]
    sources = np.ascontiguousarray(cols.transpose(0, 2, 1)).reshape(geometry.out_h, geometry.out_w, k, k, c, batch)

    def taps(size: int, pad: int, offset: int, out: int) -> tuple[np.ndarray, np.ndarray]:
        """(pixels, positions): the pixels along one axis that kernel offset `offset` reads
        from, and the output position along that axis whose window does the reading."""
        d = np.arange(size) + pad - offset  # the kernel's dy = py - ki
        ok = (d >= 0) & (d % s == 0) & (d // s < out)
        return np.nonzero(ok)[0], d[ok] // s

    acc = np.zeros((h, w, c, batch), dtype=np.float64)
    for ki in range(k):
        rows, out_rows = taps(h, top, ki, geometry.out_h)
        for kj in range(k):
            cols_x, out_cols = taps(w, left, kj, geometry.out_w)
            acc[np.ix_(rows, cols_x)] += sources[np.ix_(out_rows, out_cols)][:, :, ki, kj]
    return np.ascontiguousarray(acc.transpose(3, 0, 1, 2)).astype(cols.dtype)
