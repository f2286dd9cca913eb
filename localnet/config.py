"""Experiment configs: TOML parsed once into typed, frozen dataclasses, validated up front.

A config file has top-level keys (name, seed, backend, dtype, threads) and the sections
[data], [[layers]], [rule], [optim] and [train]. Layer tables resolve their `type` and the
rule table its `name` through the registries, and each brings its own dataclass of
options. Every problem found is reported (one line each) before any training starts.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_checks import check_config
from .data.augment import AugmentConfig
from .errors import ConfigError
from .record.config import RecordConfig
from .registry import LAYERS, RULES
from .threads import DEFAULT_THREADS
from .toml_io import apply_overrides, dump_toml
from .typed import Problems, build_dataclass, show

__all__ = ["AdamConfig", "AdamOverride", "DataConfig", "RunConfig", "TrainConfig", "apply_overrides", "build_dataclass",
           "config_to_dict", "dump_toml", "load_config", "parse_config"]


@dataclass(frozen=True)
class AdamConfig:
    """One Adam optimizer's settings (the paper's Table 4/5 rows: lr, beta1, beta2, eps)."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _check_adam(dataclasses.asdict(self))


def _check_adam(values: dict[str, float]) -> None:
    """ValueError naming the first Adam key out of range (one key per message, so that an
    error names the key, and the --set, that set it)."""
    for name, value in values.items():
        if name in ("lr", "eps") and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
        if name in ("beta1", "beta2") and not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class AdamOverride:
    """One layer's own forward-Adam keys, `optim = {beta2 = 0.999}` in its [[layers]] table;
    a key left out (None) takes [optim]'s value."""

    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None

    def __post_init__(self) -> None:
        # AdamConfig's checks are per key, so checking each key given here is checking the merge.
        _check_adam(self.keys())

    def over(self, base: AdamConfig) -> AdamConfig:
        """base with this override's keys replaced (each already checked in __post_init__)."""
        return dataclasses.replace(base, **self.keys())

    def keys(self) -> dict[str, float]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class DataConfig:
    """Dataset and batching. batch_size is not given by the paper; 100 follows Lee et al."""

    dataset: str = "mnist"
    batch_size: int = 100
    shuffle: bool = True
    eval_batch_size: int = 1000
    limit_train: int = 0  # use only the first N training examples (0: all); for quick runs
    limit_test: int = 0
    # Input scaling: "unit" maps pixels to [0, 1]; "standardize" then subtracts the training
    # set's mean pixel value and divides by its std (one scalar each). The paper names none.
    normalize: str = "unit"
    # Training-time augmentation ([data.augment]); off unless a config asks (CIFAR-10 configs do).
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(flip="none", crop_padding=0))
    # Streamed ImageNet only: the side of the square crop the network sees (a random crop of
    # the prepared S x S image when training, the centre crop when evaluating); 0: 224.
    image_size: int = 0

    def __post_init__(self) -> None:
        if self.image_size < 0:
            raise ValueError(f"image_size must be >= 0 (0: the dataset's own size), got {self.image_size}")
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.normalize not in ("unit", "standardize"):
            raise ValueError(f"normalize must be 'unit' or 'standardize', got {self.normalize!r}")
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 means all), got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainConfig:
    """Training length and reporting."""

    epochs: int = 30
    eval_train: bool = True  # clean pass over the training set after each epoch for train error
    # Examples of that pass: a fixed subset drawn once from the seed (train error is an
    # estimate; test error always uses the whole test set), or "all". Training is the same
    # either way, bit for bit. int >= 1 or "all" (docs/design.md, "Train error").
    eval_train_examples: Any = 10000
    checkpoint_every: int = 1000  # steps between mid-epoch checkpoints (0: only at epoch ends)
    keep_checkpoints: int = 2  # newest checkpoints kept in the run directory
    # Stop (exit 3) when an epoch's train or test loss exceeds this many times chance level's,
    # ln(classes): a finite blow-up the NaN/Inf guard cannot see. 0: off.
    diverge_loss: float = 10.0

    def __post_init__(self) -> None:
        if self.epochs < 1:  # a run with no epoch would leave a directory nothing can resume
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0 (0: only at epoch ends), got {self.checkpoint_every}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        if not self.diverge_loss >= 0:
            raise ValueError(f"diverge_loss must be >= 0 (0: off), got {self.diverge_loss}")
        examples = self.eval_train_examples
        if examples != "all" and (not isinstance(examples, int) or isinstance(examples, bool) or examples < 1):
            raise ValueError(f'eval_train_examples must be an integer >= 1 or "all", got {examples!r}')


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class _TopLevel:
    """The top-level keys and sections that parse generically (all but [[layers]] and [rule])."""

    name: str
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    # BLAS/OpenMP threads while training (0: every available core); see localnet/threads.py.
    threads: int = DEFAULT_THREADS
    data: DataConfig = field(default_factory=DataConfig)
    optim: AdamConfig = field(default_factory=AdamConfig)
    inverse_optim: AdamConfig = field(default_factory=AdamConfig)  # TP inverses (g), own Adam
    train: TrainConfig = field(default_factory=TrainConfig)
    record: RecordConfig = field(default_factory=RecordConfig)  # [record]: Zarr message logs

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            # it names the run directory (runs/NAME-TIME): a path or a control character must not get there
            raise ValueError(f"name must be a plain name of letters, digits, '.', '_' and '-' (at most 100, "
                             f"starting with a letter or digit; it names the run directory), got {self.name!r}")
        if self.seed < 0:  # numpy's SeedSequence takes non-negative entropy only
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0: every core), got {self.threads}")


@dataclass(frozen=True)
class RunConfig(_TopLevel):
    """A whole experiment: what `localnet run` trains and saves as config.toml.

    layers: one spec per layer (registry-dispatched on `type`), the last the output;
    rule: the learning rule's options dataclass (dispatched on `name`).
    """

    layers: tuple[Any, ...] = ()
    rule: Any = None
    layer_optim: tuple[AdamOverride | None, ...] = ()  # per layer (or empty): its `optim` table
    # per layer: the index of the [[layers]] table it came from (naming only, not compared)
    layer_tables: tuple[int, ...] = field(default=(), compare=False)

    def layer_key(self, index: int) -> str:
        """How messages name layer `index` (0-based, repeats expanded): "layers.N", N the index
        of its [[layers]] table in the file, as `--set layers.N.KEY=...` addresses it."""
        table = self.layer_tables[index] if index < len(self.layer_tables) else index
        return f"layers.{table}"

    def optim_for(self, index: int) -> AdamConfig:
        """The forward Adam settings of layer `index` (0-based): [optim], then its override."""
        override = self.layer_optim[index] if index < len(self.layer_optim) else None
        return self.optim if override is None else override.over(self.optim)


def _load_registries() -> None:
    from . import layers, rules  # noqa: F401, PLC0415 - importing registers the classes


MAX_REPEAT = 1000  # layers one [[layers]] table may stand for


def _parse_layers(raw: Any, problems: Problems) -> tuple[tuple[Any, ...], tuple[AdamOverride | None, ...], tuple[int, ...]]:
    """(specs, optim overrides, table index) per layer, each [[layers]] table's `repeat` expanded."""
    if not isinstance(raw, list) or not raw or not all(isinstance(table, dict) for table in raw):
        got = "an empty array" if raw == [] else "nothing" if raw is None else f"{type(raw).__name__} {show(raw)}"
        problems.add("[[layers]] must be a non-empty array of tables, e.g. [[layers]] type = \"dense\" units = 256; "
                     f"got {got}", key="layers")
        return (), (), ()
    specs: list[Any] = []
    overrides: list[AdamOverride | None] = []
    tables: list[int] = []
    for i, table in enumerate(raw):
        where = f"layers.{i}"  # as --set addresses it
        if "type" not in table:
            problems.add(f"{where} needs a 'type' key (one of {', '.join(LAYERS.names())})", key=where)
            continue
        table = dict(table)
        kind = table.pop("type")
        if not isinstance(kind, str):
            problems.add(f"{where}.type must be a string naming a layer type (one of {', '.join(LAYERS.names())}), "
                         f"got {type(kind).__name__} {show(kind)}", key=f"{where}.type")
            continue
        repeat = table.pop("repeat", 1)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= MAX_REPEAT:
            problems.add(f"{where}.repeat must be an integer from 1 to {MAX_REPEAT}, got {show(repeat)}",
                         key=f"{where}.repeat")
            continue
        try:
            cls = LAYERS.get(kind, f"{where}.type")
        except ConfigError as err:
            problems.add(str(err), key=f"{where}.type")
            continue
        raw_optim = table.pop("optim", None)
        override = None if raw_optim is None else build_dataclass(AdamOverride, raw_optim, f"{where}.optim", problems)
        spec = build_dataclass(cls.Spec, table, where, problems)
        specs.extend([spec] * repeat)
        overrides.extend([override] * repeat)
        tables.extend([i] * repeat)
    return tuple(specs), tuple(overrides) if any(overrides) else (), tuple(tables)


def _parse_rule(raw: Any, problems: Problems) -> Any:
    if not isinstance(raw, dict) or "name" not in raw:
        problems.add(f"[rule] needs a 'name' key (one of {', '.join(RULES.names())})", key="rule.name")
        return None
    table = dict(raw)
    name = table.pop("name")
    if not isinstance(name, str):
        problems.add(f"rule.name must be a string naming a learning rule (one of {', '.join(RULES.names())}), "
                     f"got {type(name).__name__} {show(name)}", key="rule.name")
        return None
    try:
        cls = RULES.get(name, "rule.name")
    except ConfigError as err:
        problems.add(str(err), key="rule.name")
        return None
    return build_dataclass(cls.Options, table, "rule", problems)


def parse_config(raw: dict[str, Any], source: str = "config", origins: dict[str, str] | None = None) -> RunConfig:
    """Turn a TOML document (already a dict) into a validated RunConfig.

    Raises ConfigError with one line per problem, each prefixed by where its value came
    from: `source`, or the option that set it (origins: dotted key -> e.g. "--set optim.lr=abc").
    """
    _load_registries()
    problems = Problems(source, origins)
    raw = dict(raw)
    layers, layer_optim, layer_tables = _parse_layers(raw.pop("layers", None), problems)
    rule = _parse_rule(raw.pop("rule", None), problems)
    raw.setdefault("name", Path(source).stem)
    top = build_dataclass(_TopLevel, raw, "", problems)
    problems.raise_if_any()
    config = RunConfig(layers=layers, rule=rule, layer_optim=layer_optim, layer_tables=layer_tables,
                       **{f.name: getattr(top, f.name) for f in dataclasses.fields(top)})
    check_config(config, problems)
    problems.raise_if_any()
    return config


def load_config(path: str | Path, overrides: list[str] | None = None, labels: list[str] | None = None) -> RunConfig:
    """Read a TOML config file, apply `key=value` overrides, parse and validate it.

    labels: how to name each override in an error (default "--set KEY=VALUE"; the CLI
    passes e.g. "--epochs 0" for an override an option made).
    """
    path = Path(path)
    if not path.is_file():
        state = "is not a regular file" if path.exists() else "does not exist"  # a FIFO would block the read
        raise ConfigError(f"config file {str(path)!r} {state}: check the path (configs live in models/)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}): fix the syntax at that line") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config ({err})") from None
    overrides = overrides or []
    labels = labels or [f"--set {item}" for item in overrides]
    origins = {item.split("=", 1)[0].strip(): label for item, label in zip(overrides, labels) if "=" in item}
    return parse_config(apply_overrides(raw, overrides), source=str(path), origins=origins)


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The resolved config as plain TOML-ready data (layer types and rule name included)."""
    from .registry import LAYERS, RULES  # noqa: PLC0415

    def spec_dict(spec: Any, key: str, registry: Any) -> dict[str, Any]:
        name = registry.name_of(spec, "Spec" if key == "type" else "Options")
        return {key: name} | _plain(dataclasses.asdict(spec))

    out = {k: getattr(config, k) for k in ("name", "seed", "backend", "dtype", "threads")}
    for section in ("data", "optim", "inverse_optim", "train", "record"):
        out[section] = _plain(dataclasses.asdict(getattr(config, section)))
    out["rule"] = spec_dict(config.rule, "name", RULES)
    if all(group.optimizer != "inverse_optim" for group in RULES.get(out["rule"]["name"]).modifies):
        del out["inverse_optim"]  # only target-propagation rules have inverses
    out["layers"] = [spec_dict(spec, "type", LAYERS) for spec in config.layers]
    for table, override in zip(out["layers"], config.layer_optim):
        if override is not None:
            table["optim"] = override.keys()
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
