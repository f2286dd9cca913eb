"""The side BP analysis behind the `angle` probe: how far a rule's update is from the gradient.

For a recorded step it takes the forward state every layer produced (x = h_{l-1}, a, h and
the forward weights W as they were *during* the forward pass: the recorder snapshots them
on recorded steps, because layers above update before layers below) and the step's one-hot
labels, backpropagates the batch-mean cross-entropy through the layers' own math
(`output_delta`, `transpose`, `derivative`, `weight_grads`) and measures the angle between
each layer's true dL/dW and the update its rule made (`node.grads["W"]`, before Adam).

It only reads: no node, message or parameter is written, and nothing it computes reaches
learning. For `bp` the two computations are the same operations on the same arrays, so the
angle is exactly 0; for FA on a fresh network it starts near 90 degrees in hidden layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ForwardState:
    """One layer's forward pass: x (B, *in_shape), a and h (B, *out_shape), and the forward
    weight W as it was used (None for a parameter-free layer such as flatten)."""

    x: Any
    a: Any
    h: Any
    weight: Any


def true_gradients(layers: Sequence[Any], states: Sequence[ForwardState], onehot: Any) -> list[Any | None]:
    """dL/dW of every layer (None where a layer has no W) for the batch-mean cross-entropy.

    layers: the network's Layer objects, bottom to top (the last is the softmax output);
    states: their forward states; onehot: (B, classes) labels. The delta is carried down
    with each layer's recorded W, exactly as BP's feedback messages carry W^T delta.
    """
    grads: list[Any | None] = [None] * len(layers)
    delta = layers[-1].output_delta(states[-1].h, onehot)
    for index in range(len(layers) - 1, -1, -1):
        layer, state = layers[index], states[index]
        if layer.params:
            grads[index] = layer.weight_grads(state.x, delta)["W"]
        if index == 0:
            break
        below = states[index - 1]
        delta = layer.transpose(delta, state.weight) * layers[index - 1].derivative(below.a, below.h)
    return grads


def angle_degrees(u: Any, v: Any, xp: Any) -> Any:
    """The angle (degrees, a 0-d array of u's float dtype on the backend) between arrays u
    and v taken as flat vectors; NaN if either is zero.

    With s = |v| / |u|, the angle is 2 atan2(|s u - v|, |s u + v|) (the unit vectors' chord
    and its complement): exact 0 for equal arrays and accurate near 0, where acos of a
    float32 cosine is off by hundredths of a degree, and all in the arrays' own precision
    (a float64 copy of every gradient cost 10x more on MNIST-FC).
    """
    u, v = u.reshape(-1), v.reshape(-1)
    nu, nv = xp.linalg.norm(u), xp.linalg.norm(v)
    su = u * (nv / xp.maximum(nu, xp.finfo(nu.dtype).tiny))  # no division by zero; masked below
    angle = xp.degrees(2 * xp.arctan2(xp.linalg.norm(su - v), xp.linalg.norm(su + v)))
    return xp.where((nu > 0) & (nv > 0), angle, xp.nan)


def update_angles(nodes: Sequence[Any], weights: Mapping[str, Any], onehot: Any,
                  updated: Sequence[str]) -> dict[str, Any]:
    """Angle (degrees, 0-d on the backend) per node name in `updated` between the node's
    last forward update `grads["W"]` and the true BP gradient of this step.

    nodes: the network's LayerNodes bottom to top, their x, a, h caches still those of the
    step's forward pass; weights: name -> W snapshot taken when the forward message arrived.
    """
    if not updated:
        return {}
    xp = nodes[0].layer.xp
    states = [ForwardState(n.x, n.a, n.h, weights.get(n.name)) for n in nodes]
    grads = true_gradients([n.layer for n in nodes], states, onehot)
    wanted = set(updated)
    return {node.name: angle_degrees(node.grads["W"], grad, xp)
            for node, grad in zip(nodes, grads) if node.name in wanted and grad is not None}
