"""The torch LC reference is localnet's net and rule: same weights in, same gradients out (float64).

A small LC net (two LC layers, flatten, dense, softmax) is built in localnet (numpy) and its
parameters copied into the torch reference (patch order (row, column, channel) -> torch's
(channel, row, column); channel-last flatten -> NCHW flatten). One step of each rule must
give the same gradients, forward and (sdtp) inverse.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from localnet import build_network, get_backend, load_config  # noqa: E402
from runners.bench.torch_lc_reference import make_lc_trainer, trainer_for_config  # noqa: E402

IN_SHAPE = (6, 5, 2)  # (H, W, C)
LAYERS = """
[[layers]]
type = "locally_connected"
kernel = 3
channels = 3
stride = 2
[[layers]]
type = "locally_connected"
kernel = 2
channels = 4
stride = 1
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 5
[[layers]]
type = "softmax"
units = 3
"""
RULE = {"bp": '[rule]\nname = "bp"\n', "fa": '[rule]\nname = "fa"\n',
        # sigma 0: no noise, so both sides see the same numbers; a real inverse rate, so the
        # steps after the first show that both compute targets before the inverse step
        "sdtp": '[rule]\nname = "sdtp"\nschedule = "parallel"\nsigma = 0.0\n'
                '[inverse_optim]\nlr = 1e-2\nbeta1 = 0.9\nbeta2 = 0.999\neps = 1e-6\n'}


def write_config(tmp_path, rule):
    text = f'name = "tiny_{rule}"\nseed = 3\n[data]\ndataset = "mnist"\nbatch_size = 7\n{LAYERS}{RULE[rule]}'
    text += "[optim]\nlr = 1e-3\nbeta1 = 0.9\nbeta2 = 0.999\neps = 1e-8\n"
    path = tmp_path / f"{rule}.toml"
    path.write_text(text)
    return load_config(path)


def to_torch(layer, name, array):
    """A localnet parameter (or gradient) in the torch reference's layout."""
    a = np.asarray(array)
    if layer.kind == "lc" and name in ("W", "V", "B"):
        k, c = layer.k, layer.in_shape[0]
        p, _, c_out = a.shape
        a = a.reshape(p, k, k, c, c_out).transpose(0, 3, 1, 2, 4).reshape(p, -1, c_out)
    elif layer.kind == "lc" and name == "b":
        a = a.reshape(layer.P, 1, -1)
    elif name == "c" and len(layer.in_shape) == 3:  # an image-shaped inverse bias (H, W, C) -> (C, H, W)
        a = a.transpose(2, 0, 1)
    elif layer.kind == "dense" and layer.flat_from is not None and name in ("W", "V", "B", "c"):
        c, h, w = layer.flat_from  # rows ordered (h, w, c) in localnet, (c, h, w) in torch
        a = a.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(a.shape)
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("rule", ["bp", "fa", "sdtp"])
def test_one_step_gives_localnet_gradients(tmp_path, rule):
    config = write_config(tmp_path, rule)
    net = build_network(config, get_backend("numpy", "float64"), IN_SHAPE, 3)
    trainer = trainer_for_config(config, rule, IN_SHAPE, dtype=torch.float64)
    nodes = [n for n in net.nodes]
    assert len(nodes) == len(trainer.layers)
    previous = None
    for node, layer in zip(nodes, trainer.layers):
        layer.flat_from = previous.in_shape if previous is not None and previous.kind == "flatten" else None
        previous = layer
        for name, value in node.params.items():
            getattr(layer, name).data.copy_(to_torch(layer, name, value))
        for name, value in node.state.arrays.items():  # the rule's state: FA's B, SDTP's V and c
            assert name in layer.fb, (rule, name)
            layer.fb[name].copy_(to_torch(layer, name, value))

    rng = np.random.default_rng(0)
    x = rng.random((7, *IN_SHAPE))
    y = rng.integers(0, 3, size=7)
    net.step(0, x, np.eye(3)[y], net.rule.passes()[0])
    trainer(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y))

    compared = 0
    for node, layer in zip(nodes, trainer.layers):
        for name, grad in node.grads.items():
            torch.testing.assert_close(getattr(layer, name).grad, to_torch(layer, name, grad), rtol=1e-9, atol=1e-12,
                                       msg=lambda m, n=node.name, k=name: f"{rule} {n} {k}: {m}")
            compared += 1
        for group in node.state.grads.values():  # SDTP: the inverse's V and c
            for name, grad in group.items():
                torch.testing.assert_close(layer.fb[name].grad, to_torch(layer, name, grad), rtol=1e-9, atol=1e-12,
                                           msg=lambda m, n=node.name, k=name: f"{rule} {n} inverse {k}: {m}")
                compared += 1
    assert compared == {"bp": 8, "fa": 8, "sdtp": 14}[rule]  # W, b of 4 layers; sdtp: V, c of 3 more


def test_trainer_steps_lower_the_loss_and_reject_unknown_rules():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 2, 6, 5, generator=gen)
    y = torch.randint(0, 3, (16,), generator=gen)
    layers = [("lc", 3, 3, 2), ("flatten",), ("softmax", 3)]
    for rule in ("bp", "fa", "sdtp"):
        step = make_lc_trainer(rule, layers, (2, 6, 5), 1e-2, (0.9, 0.999), 1e-8, (1e-3, (0.9, 0.999), 1e-6), 0.1)
        losses = [float(step(x, y)) for _ in range(40)]
        assert losses[-1] < losses[0], (rule, losses[0], losses[-1])
    with pytest.raises(ValueError, match="unknown rule 'dtp'"):
        make_lc_trainer("dtp", layers, (2, 6, 5), 1e-2, (0.9, 0.999), 1e-8)
