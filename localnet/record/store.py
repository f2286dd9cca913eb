"""The Zarr (v3) store of a run's recording: RUN_DIR/record.zarr, written in whole chunks.

Layout (readable with plain `zarr` and with `xarray.open_zarr(path, group="layer3")`)::

    record.zarr/            attrs: config (the resolved run config), record (RecordConfig),
                            versions, seed, layers, examples (batch rows of tensor probes),
                            rows (recorded steps flushed so far), complete, cost
      layer3/               attrs: layer, type, role, in_shape, out_shape
        step    (T,)        int64, training step since the start (fill -1: not yet written)
        epoch   (T,)        int64, 1-based epoch of the step
        phase   (T,)        str, the step's phases in order, e.g. "forward+feedback"
        example (E,)        int64, the batch rows that tensor probes keep
        forward (T, E, *unit_shape) and the other probes (T, ...), float; attrs: units,
                            description, coordinates ("epoch phase", so xarray attaches them)

Every array is chunked along the step axis by `chunk` recorded steps (tensor probes of
large layers also along examples, to keep chunks near 16 MiB). zarr 3 rewrites an
array's metadata on every resize, so the writer is given whole chunks: it resizes each array
once per flush and writes all arrays concurrently, then bumps the root attribute `rows`.
A reader trusts `rows` (an interrupted flush can leave longer arrays with fill values).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ..writes import writes_to, writing
from ..zarr_nodes import array_at, attrs_of, group_at

STORE_NAME = "record.zarr"
COORDS = ("step", "epoch", "phase")
#: what to do when the store cannot be written
FIX = "free some space or choose another --out, or record less ([record] every, examples, layers)"
CHUNK_BYTES = 16 * 2**20  # aim for chunks of at most this size (zarr's advice: ~1-100 MB)
FORMAT = 1

#: probe -> (units, description), written to each array's attributes.
PROBE_INFO: dict[str, tuple[str, str]] = {
    "forward": ("activation", "h_l, the layer's forward message as delivered (kept batch rows)"),
    "feedback": ("loss per activation", "the feedback message delivered to the layer (BP: dL/dh_l; "
                                         "FA: B^T delta; DFA: the output error), kept batch rows"),
    "target": ("activation", "the target message delivered to the layer (output layer: the labels), kept rows"),
    "act_mean": ("activation", "mean of h_l over the batch and units"),
    "act_std": ("activation", "standard deviation of h_l over the batch and units"),
    "update_norm": ("loss per weight", "Frobenius norm of the rule's update dL/dW of the step, before Adam "
                                       "(NaN: W was not updated on that step)"),
    "weight_norm": ("weight", "Frobenius norm of W after the step"),
    "inverse_error": ("squared input activation", "batch mean of ||g_l(f_l(h_{l-1})) - h_{l-1}||^2 with "
                                                  "f_l and the inverse g_l as they stand after the step"),
    "target_gap": ("activation", "batch mean of ||t_l - h_l||_2 for the target delivered to the layer"),
    "angle": ("degrees", "angle between the rule's update of W and the true BP gradient of the task loss "
                         "on the same batch (side analysis; 0 for bp)"),
}
_COORD_INFO = {
    "step": ("steps", "training step (minibatch index since the start of training)"),
    "epoch": ("epochs", "1-based epoch of the step"),
    "phase": ("", "the phases the step ran, in order"),
}


def versions(backend_name: str = "numpy") -> dict[str, str]:
    """Versions of what produced a store (localnet, numpy, zarr, python; cupy when used)."""
    from .. import __version__  # noqa: PLC0415

    out = {"localnet": __version__, "numpy": np.__version__, "zarr": zarr.__version__,
           "python": platform.python_version()}
    if backend_name == "cupy":
        import cupy  # noqa: PLC0415

        out["cupy"] = cupy.__version__
    return out


def unit_dims(probe: str, unit_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[str]:
    """Dimension names for a probe's unit axes: the layer's own ("unit" or height, width,
    channel) when the shape is the layer's output shape, else prefixed by the probe (e.g.
    DFA's feedback carries the output error), so that xarray sees one size per name."""
    names = ["unit"] if len(unit_shape) == 1 else ["height", "width", "channel"] if len(unit_shape) == 3 \
        else [f"axis{i}" for i in range(len(unit_shape))]
    if tuple(unit_shape) == tuple(out_shape):
        return names
    return [f"{probe}_{name}" for name in names]


class RecordWriter:
    """Creates the store and appends flushed chunks to it.

    path: the store directory; attrs: root attributes; layers: name -> group attributes
    (must hold out_shape); examples: the batch rows of tensor probes; chunk: rows per chunk.
    """

    def __init__(self, path: str | Path, attrs: Mapping[str, Any], layers: Mapping[str, Mapping[str, Any]],
                 examples: np.ndarray, chunk: int, dtype: Any) -> None:
        self.path = Path(path)
        with writing(self.path, FIX):
            self._create(attrs, layers, examples, chunk, dtype)

    def _create(self, attrs: Mapping[str, Any], layers: Mapping[str, Mapping[str, Any]], examples: np.ndarray,
                chunk: int, dtype: Any) -> None:
        self.chunk = chunk
        self.dtype = np.dtype(dtype)
        self.root = zarr.open_group(self.path, mode="w", zarr_format=3)
        self.root.attrs.update({"format": FORMAT, **attrs, "layers": list(layers), "rows": 0, "complete": False})
        self.groups: dict[str, Any] = {}
        self.out_shapes: dict[str, tuple[int, ...]] = {}
        self.arrays: dict[tuple[str, str], Any] = {}  # (layer, name) -> zarr.Array
        self.rows = 0
        for name, group_attrs in layers.items():
            group = self.root.create_group(name, attributes=dict(group_attrs))
            self.groups[name] = group
            self.out_shapes[name] = tuple(group_attrs["out_shape"])
            example = group.create_array("example", shape=(len(examples),), chunks=(max(len(examples), 1),),
                                         dtype="int64", dimension_names=["example"],
                                         attributes={"description": "batch rows kept by tensor probes"})
            example[:] = np.asarray(examples, dtype=np.int64)
            for coord in COORDS:
                units, description = _COORD_INFO[coord]
                array = group.create_array(coord, shape=(0,), chunks=(chunk,), dimension_names=["step"],
                                           dtype=str if coord == "phase" else "int64",
                                           fill_value="" if coord == "phase" else -1,
                                           attributes={"units": units, "description": description})
                self.arrays[(name, coord)] = array

    @classmethod
    def resume(cls, path: str | Path, before_step: int) -> RecordWriter:
        """Reopen an existing store to append to it (a resumed run): rows of steps >=
        `before_step` are dropped (their chunk remainder reset to fill values, so that a
        probe missing from later flushes reads NaN there, not stale values)."""
        self = cls.__new__(cls)
        self.path = Path(path)
        with writing(self.path, FIX):
            self._reopen(before_step)
        return self

    def _reopen(self, before_step: int) -> None:
        self.root = zarr.open_group(self.path, mode="r+", zarr_format=3)
        attrs = attrs_of(self.root)
        self.chunk, self.dtype = int(attrs["record"]["chunk"]), np.dtype(attrs["dtype"])
        self.groups = {name: group_at(self.root, name) for name in attrs["layers"]}
        self.out_shapes = {name: tuple(attrs_of(group)["out_shape"]) for name, group in self.groups.items()}
        self.arrays = {}
        steps = RecordReader(self.path).coords(next(iter(self.groups)))["step"] if self.groups else np.zeros(0)
        self.rows = int(np.searchsorted(steps, before_step))  # steps increase along the rows
        for name, group in self.groups.items():
            for key, array in group.arrays():
                if key == "example":
                    continue
                if array.shape[0] > self.rows:
                    array[self.rows:] = array.fill_value
                    array.resize((self.rows, *array.shape[1:]))
                self.arrays[(name, key)] = array
        self.root.attrs.update({"rows": self.rows, "complete": False})

    @writes_to("path", FIX)
    def ensure(self, layer: str, probe: str, row_shape: tuple[int, ...]) -> None:
        """Create the array for (layer, probe) if needed, NaN for the rows already flushed.

        row_shape: one recorded step's shape, () for a series, (E, *unit_shape) for a tensor.
        """
        if (layer, probe) in self.arrays:
            return
        dims = ["step"] + (["example", *unit_dims(probe, row_shape[1:], self.out_shapes[layer])] if row_shape else [])
        units, description = PROBE_INFO[probe]
        chunks = (self.chunk, *row_shape)
        if row_shape:  # big tensors (LC layers) split along examples: a flush still writes whole chunks
            example_bytes = self.chunk * int(np.prod(row_shape[1:], dtype=np.int64)) * self.dtype.itemsize
            chunks = (self.chunk, max(1, min(row_shape[0], CHUNK_BYTES // max(example_bytes, 1))), *row_shape[1:])
        array = self.groups[layer].create_array(
            probe, shape=(self.rows, *row_shape), chunks=chunks, dtype=self.dtype,
            fill_value=np.nan, dimension_names=dims,
            attributes={"units": units, "description": description, "coordinates": "epoch phase"})
        self.arrays[(layer, probe)] = array

    @writes_to("path", FIX)
    def append(self, coords: Mapping[str, np.ndarray], data: Mapping[tuple[str, str], np.ndarray]) -> None:
        """Append n rows: coords name -> (n,) host array, the same for every layer group;
        data (layer, probe) -> (n, *row_shape) host array. Probes without data get NaN rows."""
        n = len(coords["step"])
        if n == 0:
            return
        start = self.rows
        jobs = [(array, coords[name] if name in COORDS else data.get((layer, name)))
                for (layer, name), array in self.arrays.items()]
        _grow_and_write_all(jobs, start, n)
        self.rows = start + n
        self.root.attrs["rows"] = self.rows  # last: a reader never trusts rows not yet written

    @writes_to("path", FIX)
    def set_attrs(self, **attrs: Any) -> None:
        self.root.attrs.update(attrs)


def _grow_and_write_all(jobs: list[tuple[zarr.Array, np.ndarray | None]], start: int, n: int) -> None:
    """Resize every array to start + n rows and write its rows, the arrays concurrently from a few
    threads (zarr's public API is thread-safe; one metadata write each, overlapped, takes about half
    the time of doing them one after another)."""

    def one(job: tuple[zarr.Array, np.ndarray | None]) -> None:
        array, values = job
        array.resize((start + n, *array.shape[1:]))
        if values is not None:
            array[start:start + n] = values

    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        list(pool.map(one, jobs))  # list(): re-raise the first error here


class RecordReader:
    """Read a store (also while its run is still writing it): trust only `rows` rows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.root = zarr.open_group(self.path, mode="r", zarr_format=3)
        self.attrs = attrs_of(self.root)
        self.layers: list[str] = list(self.attrs.get("layers", []))
        first = array_at(self.root, f"{self.layers[0]}/step").shape[0] if self.layers else 0
        self.rows = min(int(self.attrs.get("rows", 0)), first)

    def group(self, layer: str) -> Any:
        return group_at(self.root, layer)

    def probes(self, layer: str) -> list[str]:
        """The probe arrays of a layer group (coordinates excluded), in a stable order."""
        names = [name for name, _ in group_at(self.root, layer).arrays() if name not in (*COORDS, "example")]
        order = list(PROBE_INFO)
        return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))

    def coords(self, layer: str) -> dict[str, np.ndarray]:
        """step, epoch, phase of the flushed rows, (rows,) each; and example, (E,)."""
        group = group_at(self.root, layer)
        out = {name: np.asarray(array_at(group, name)[: self.rows]) for name in COORDS}
        out["phase"] = np.array(out["phase"].tolist(), dtype=str)
        out["example"] = np.asarray(array_at(group, "example")[:])
        return out

    def array(self, layer: str, probe: str) -> Any:
        return array_at(self.root, f"{layer}/{probe}")

    def read(self, layer: str, probe: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Values of (layer, probe) for flushed rows start..stop, shape (rows, *row_shape)."""
        stop = self.rows if stop is None else min(stop, self.rows)
        return np.asarray(array_at(self.root, f"{layer}/{probe}")[start:max(stop, start)])
