"""Config fuzzing: malformed configs never reach training and never show a traceback.

Hypothesis breaks a small valid config in one place (a wrong type, an unknown key, a missing
or malformed section, a bad number: negative, zero, NaN, inf, out of range, or a size no
machine holds, e.g. units = 10**12 or batch_size = 10**9). `localnet validate` and
`localnet run` must both end with exit code 2 and exactly one `error:` line, naming the key
where the problem has one, and `run` must leave no run directory behind. With several
independent problems, every one is reported, in one go.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from localnet.cli import main
from localnet.config import dump_toml
from localnet.data.synthetic import write_synthetic_mnist

BASE: dict[str, Any] = {
    "name": "fuzz",
    "seed": 1,
    "data": {"dataset": "mnist", "batch_size": 8, "eval_batch_size": 16, "limit_train": 40, "limit_test": 20},
    "layers": [{"type": "dense", "units": 12}, {"type": "softmax", "units": 10}],
    "rule": {"name": "fa"},
    "optim": {"lr": 0.001},
    "train": {"epochs": 1, "checkpoint_every": 0},
}

# Every scalar key the base config can carry, with its type (sections the base leaves out
# are added by the mutation).
FIELDS: dict[str, str] = {
    "name": "str", "seed": "int", "backend": "str", "dtype": "str", "threads": "int",
    "data.dataset": "str", "data.batch_size": "int", "data.eval_batch_size": "int", "data.shuffle": "bool",
    "data.limit_train": "int", "data.limit_test": "int", "data.normalize": "str",
    "data.augment.flip": "str", "data.augment.crop_padding": "int",
    "layers.0.units": "int", "layers.0.activation": "str", "layers.1.units": "int",
    "rule.feedback_scale": "float",
    "optim.lr": "float", "optim.beta1": "float", "optim.beta2": "float", "optim.eps": "float",
    "inverse_optim.lr": "float", "inverse_optim.eps": "float",
    "train.epochs": "int", "train.eval_train": "bool", "train.checkpoint_every": "int",
    "train.keep_checkpoints": "int",
    "record.enabled": "bool", "record.every": "int", "record.examples": "int", "record.chunk": "int",
    "record.angle": "bool",
}
SECTIONS = ("", "data", "data.augment", "layers.0", "layers.1", "rule", "optim", "inverse_optim", "train", "record")
VALID_KEYS = {
    "": {"name", "seed", "backend", "dtype", "threads", "data", "optim", "inverse_optim", "train", "record", "layers", "rule"},
    "data": {"dataset", "batch_size", "shuffle", "eval_batch_size", "limit_train", "limit_test", "normalize",
             "augment"},
    "data.augment": {"flip", "crop_padding"},
    "layers.0": {"type", "repeat", "units", "activation"},
    "layers.1": {"type", "repeat", "units"},
    "rule": {"name", "feedback_scale"},
    "optim": {"lr", "beta1", "beta2", "eps"},
    "inverse_optim": {"lr", "beta1", "beta2", "eps"},
    "train": {"epochs", "eval_train", "checkpoint_every", "keep_checkpoints"},
    "record": {"enabled", "every", "examples", "layers", "probes", "chunk", "angle"},
}

NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
HUGE_INT = st.one_of(st.integers(2**63, 2**80), st.integers(-(2**80), -(2**63) - 1))  # beyond TOML's range
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
TABLE = st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(0, 9), min_size=1, max_size=2)
WRONG: dict[str, st.SearchStrategy[Any]] = {  # values of the wrong type, per expected type
    "int": st.one_of(TEXT, st.booleans(), st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: x != int(x)), st.lists(st.integers(0, 9), max_size=3), TABLE),
    "float": st.one_of(TEXT, st.booleans(), st.lists(st.floats(-1, 1), max_size=3), TABLE),
    "str": st.one_of(st.integers(-5, 5), st.floats(-1, 1), st.booleans(), st.lists(TEXT, max_size=2), TABLE),
    "bool": st.one_of(st.integers(0, 1), TEXT, st.floats(0, 1), st.lists(st.booleans(), max_size=2), TABLE),
}
NEGATIVE = st.one_of(st.integers(-(2**40), -1), st.floats(-1e30, -1e-30))
BAD_NUMBERS: dict[str, st.SearchStrategy[Any]] = {  # in range for the type, wrong for the key
    "seed": st.integers(-(2**40), -1),
    "threads": st.integers(-(2**40), -1),
    "data.batch_size": st.one_of(st.integers(-(2**40), 0), st.integers(41, 10**12), st.just(10**9)),
    "data.eval_batch_size": st.integers(-(2**40), 0),
    "data.limit_train": st.integers(-(2**40), -1),
    "data.limit_test": st.integers(-(2**40), -1),
    "data.augment.crop_padding": st.integers(-(2**40), -1),
    "layers.0.units": st.one_of(st.integers(-(2**40), 0), st.integers(10**9, 10**15), st.just(10**12)),
    "layers.1.units": st.one_of(st.integers(-(2**40), 9), st.integers(11, 10**15)),  # 10 classes
    "rule.feedback_scale": st.one_of(NEGATIVE, st.just(0.0)),
    "optim.lr": st.one_of(NEGATIVE, st.just(0.0), st.just(0)),
    "optim.eps": st.one_of(NEGATIVE, st.just(0.0)),
    "optim.beta1": st.one_of(st.floats(1.0, 1e30), st.floats(-1e30, -1e-9)),
    "optim.beta2": st.one_of(st.floats(1.0, 1e30), st.floats(-1e30, -1e-9)),
    "inverse_optim.lr": st.one_of(NEGATIVE, st.just(0.0)),
    "train.epochs": st.integers(-(2**40), 0),
    "train.checkpoint_every": st.integers(-(2**40), -1),
    "train.keep_checkpoints": st.integers(-(2**40), 0),
    "record.every": st.integers(-(2**40), 0),
    "record.examples": st.integers(-(2**40), 0),
    "record.chunk": st.integers(-(2**40), 0),
}
BAD_WORDS = {  # string keys with a closed set of values
    "backend": "tpu", "dtype": "float16", "data.dataset": "mnist2", "data.normalize": "zscore",
    "data.augment.flip": "diagonal", "layers.0.activation": "swish",
}
BIG_PATCH_LAYERS = st.builds(  # an image layer no machine can hold
    lambda kind, kernel, channels: {"type": kind, "kernel": kernel, "channels": channels},
    st.sampled_from(["conv", "locally_connected"]), st.integers(1, 5), st.integers(10**9, 10**13))


def _set(config: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _delete(config: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]


def _key(path: str) -> str:
    """How a message names the key at `path`: as --set does (layers.0.units)."""
    return path


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str | None, Any]:
    """(kind, the key path the error line must name or None, the mutation's arguments)."""
    kind = draw(st.sampled_from(["wrong_type", "non_finite", "huge_int", "bad_number", "bad_word", "unknown_key",
                                 "missing", "not_a_table", "bad_layers", "bad_layer_type", "bad_rule_name",
                                 "bad_repeat", "big_patch", "no_output_layer"]))
    if kind == "wrong_type":
        path = draw(st.sampled_from(sorted(FIELDS)))
        return kind, _key(path), (path, draw(WRONG[FIELDS[path]]))
    if kind == "non_finite":
        path = draw(st.sampled_from(sorted(p for p, t in FIELDS.items() if t == "float")))
        return kind, _key(path), (path, draw(NON_FINITE))
    if kind == "huge_int":
        path = draw(st.sampled_from(sorted(p for p, t in FIELDS.items() if t in ("int", "float"))))
        return kind, _key(path), (path, draw(HUGE_INT))
    if kind == "bad_number":
        path = draw(st.sampled_from(sorted(BAD_NUMBERS)))
        value = draw(BAD_NUMBERS[path])
        named = None if path in ("layers.0.units", "layers.1.units") else path.rsplit(".", 1)[-1]
        return kind, named, (path, value)
    if kind == "bad_word":
        path = draw(st.sampled_from(sorted(BAD_WORDS)))
        return kind, None, (path, BAD_WORDS[path])
    if kind == "unknown_key":
        section = draw(st.sampled_from(SECTIONS))
        key = draw(st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
            lambda k: k not in VALID_KEYS[section]))
        path = f"{section}.{key}" if section else key
        return kind, _key(path), (path, draw(st.one_of(st.integers(0, 9), TEXT, st.booleans())))
    if kind == "missing":
        path = draw(st.sampled_from(["layers", "rule", "rule.name", "layers.0.units", "layers.1.units",
                                     "layers.0.type"]))
        return kind, None, (path,)
    if kind == "not_a_table":
        path = draw(st.sampled_from(["data", "optim", "inverse_optim", "train", "record", "data.augment", "rule"]))
        return kind, None, (path, draw(st.one_of(st.integers(0, 9), TEXT, st.lists(st.integers(0, 3), max_size=2))))
    if kind == "bad_layers":
        value = draw(st.one_of(st.just([]), st.integers(0, 9), TEXT, st.lists(st.integers(0, 3), max_size=3),
                               st.lists(TEXT, min_size=1, max_size=2), TABLE))
        return kind, "layers", ("layers", value)
    if kind == "bad_layer_type":
        value = draw(st.one_of(TEXT.filter(lambda t: t not in ("dense", "softmax", "conv", "flatten",
                                                               "locally_connected")),
                               st.integers(-9, 9), st.booleans(), st.lists(st.integers(0, 3), max_size=2), TABLE))
        return kind, "layers.0.type", ("layers.0.type", value)
    if kind == "bad_rule_name":
        value = draw(st.one_of(TEXT.filter(lambda t: t not in ("bp", "fa", "dfa", "tp", "dtp", "sdtp", "aosdtp")),
                               st.integers(-9, 9), st.booleans(), st.lists(st.integers(0, 3), max_size=2)))
        return kind, "rule.name", ("rule.name", value)
    if kind == "bad_repeat":
        value = draw(st.one_of(st.integers(-(2**40), 0), st.integers(1001, 10**15), HUGE_INT, TEXT, st.booleans(),
                               st.floats(0.5, 3.5)))
        return kind, "layers.0.repeat", ("layers.0.repeat", value)
    if kind == "big_patch":
        return kind, None, ("layers.0", draw(BIG_PATCH_LAYERS))
    return kind, None, ("layers", [{"type": "dense", "units": 12}, {"type": "dense", "units": 10}])


def _apply(config: dict[str, Any], kind: str, args: tuple[Any, ...]) -> None:
    if kind == "missing":
        _delete(config, args[0])
    else:
        _set(config, args[0], args[1])


@pytest.fixture(scope="module")
def workspace():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic_mnist(root / "mnist", n_train=40, n_test=20)
        yield root


def _check_rejected(result: Any, needle: str | None, lines_expected: int | None = 1) -> list[str]:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # anything else is a traceback
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and all(line.startswith("error: ") for line in lines), result.output
    if lines_expected is not None:
        assert len(lines) == lines_expected, result.output
    if needle is not None:
        assert needle in result.output, (needle, result.output)
    return lines


def _write(workspace: Path, config: dict[str, Any]) -> Path:
    path = workspace / "fuzz.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    return path


def test_base_config_is_valid(workspace):
    path = _write(workspace, copy.deepcopy(BASE))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    out = workspace / "base-run"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--data-dir", str(workspace / "mnist"),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation=mutations())
def test_malformed_config_is_one_line_exit_2(workspace, mutation):
    kind, needle, args = mutation
    config = copy.deepcopy(BASE)
    _apply(config, kind, args)
    path = _write(workspace, config)
    _check_rejected(CliRunner().invoke(main, ["validate", str(path)]), needle)
    out = workspace / "run"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--data-dir", str(workspace / "mnist"),
                                       "--no-progress"])
    _check_rejected(result, needle)
    assert not out.exists()  # refused before the run directory was made


INDEPENDENT = {  # one key per section: each problem is found by the first pass, all together
    "seed": "int", "data.batch_size": "int", "data.augment.flip": "str", "layers.0.units": "int",
    "layers.1.units": "int", "rule.feedback_scale": "float", "optim.lr": "float", "inverse_optim.eps": "float",
    "train.epochs": "int", "record.every": "int",
}


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_problem_is_reported_at_once(workspace, data):
    paths = data.draw(st.lists(st.sampled_from(sorted(INDEPENDENT)), min_size=2, max_size=5, unique=True))
    config = copy.deepcopy(BASE)
    for path in paths:
        value = data.draw(NON_FINITE if INDEPENDENT[path] == "float" and data.draw(st.booleans())
                          else WRONG[INDEPENDENT[path]])
        _set(config, path, value)
    lines = _check_rejected(CliRunner().invoke(main, ["validate", str(_write(workspace, config))]), None,
                            lines_expected=len(paths))
    for path in paths:
        assert sum(_key(path) in line for line in lines) == 1, (path, lines)
