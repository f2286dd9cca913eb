"""What the target-propagation rules (tp, dtp, sdtp, aosdtp) share.

Layer l (l >= 2) holds a learned inverse of its own forward map,
g_l(h_l) = tanh(V_l^T h_l + c_l), with V_l of W_l's shape (so `layer.transpose` applies it,
for dense and locally-connected layers alike) and c_l of the input's shape. It sends the
layer below the target

    t_{l-1} = h_{l-1} + g_l(t_l) - g_l(h_l)          (difference correction; tp: g_l(t_l))

and trains on local losses only (Bartunov et al. 2018, section 2.1.2 and Algorithm 1):

- forward, hidden layer: ||h_l - t_l||^2 with the target a constant;
- forward, output layer: the task loss (softmax cross-entropy);
- inverse: ||g_l(f_l(h~)) - r||^2 with h~ = h_{l-1} + eps, eps ~ N(0, sigma^2), and the
  reconstruction target r = h~ ("preserving", DTP as in Lee et al.) or r = h_{l-1}
  ("denoising", SDTP and AO-SDTP).

Squared errors are summed over units and averaged over the batch (Lee et al.'s `mse`), so
their gradients are 2 (h - t) / B; options `local_loss` (hidden layers) and `inverse_loss`
change that reduction ("mean": over units too, TF's reduce_mean; "sum").
Inverses train during "inverse" phases (the forward sweep) or, in the parallel schedule's
default order, in the "target_inverse" phase right after the layer has computed its target
with the inverse as it was at the forward pass (Algorithm 1); forward weights train during
"target" and "target_inverse" phases. The schedule orders the two. A layer that declares an exact inverse
(`Layer.inverse`, e.g. flatten) uses it instead of a learned one: t_{l-1} = f_l^{-1}(t_l);
a layer above the first with neither weights nor an exact inverse cannot pass targets on,
and the builder refuses it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..messages import Channel, Message
from ..schedule import PARALLEL_ORDERS, SCHEDULES, TARGET_INVERSE, StepPlan
from ..seeding import glorot_uniform
from .base import LayerInfo, Rule, StateInit, label_delta
from .contract import FORWARD, NOTHING, LocalView, ParamGroup, Reply, RuleState

NOISE_MODES = ("preserving", "denoising")
#: values of local_loss and inverse_loss (see TargetOptions and `loss_gradient`)
REDUCTIONS = ("batch_mean", "mean", "sum")


@dataclass(frozen=True)
class TargetOptions:
    """Options every TP rule has.

    schedule: "parallel" or "alternating"; parallel_order: in a parallel step, whether the
    targets come from the inverses as they were at the forward pass and the inverse and
    forward steps follow ("targets_first", the paper's Algorithm 1) or the inverses are
    updated first and the targets use the updated ones ("inverse_first"); sigma: std of the inverse-training noise;
    noise: "preserving" (reconstruct the corrupted input) or "denoising" (the clean one);
    inverse_activation: the inverse's nonlinearity (tanh in the paper; identity for tests);
    local_loss, inverse_loss: the reduction of the squared errors in the hidden layers'
    loss ||h_l - t_l||^2 and in the inverse loss, "batch_mean" (sum over units, mean over
    the batch: Lee et al.'s mse), "mean" (mean over units and batch: TF's reduce_mean) or
    "sum". Adam is blind to a gradient's scale except through eps, so these differ only in
    how strongly eps damps the updates: "mean" is "batch_mean" with eps times the width.
    """

    schedule: str = "alternating"
    parallel_order: str = "targets_first"
    sigma: float = 0.1
    noise: str = "denoising"
    inverse_activation: str = "tanh"
    local_loss: str = "batch_mean"
    inverse_loss: str = "batch_mean"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.parallel_order not in PARALLEL_ORDERS:
            raise ValueError(f"parallel_order must be one of {', '.join(PARALLEL_ORDERS)}, got {self.parallel_order!r}")
        if self.noise not in NOISE_MODES:
            raise ValueError(f"noise must be one of {', '.join(NOISE_MODES)}, got {self.noise!r}")
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        for name in ("local_loss", "inverse_loss"):
            if getattr(self, name) not in REDUCTIONS:
                raise ValueError(f"{name} must be one of {', '.join(REDUCTIONS)}, got {getattr(self, name)!r}")
        if self.inverse_activation not in ("tanh", "identity"):
            raise ValueError(f"inverse_activation must be 'tanh' or 'identity', got {self.inverse_activation!r}")


def loss_gradient(grad: Any, reduction: str) -> Any:
    """d(loss)/d(output) from the per-element 2 (y - r) of a (B, ...) batch, by `reduction`."""
    if reduction == "batch_mean":
        return grad / grad.shape[0]
    if reduction == "mean":
        return grad / grad.size
    return grad


INVERSE = ParamGroup("inverse", "inverse_optim")


class TargetRule(Rule):
    """Base for rules that send targets down and train learned inverses."""

    consumes: ClassVar[dict[str, frozenset[str]]] = {"hidden": frozenset({"forward", "target"}),
                                                     "output": frozenset({"forward", "target"})}
    emits: ClassVar[dict[str, frozenset[str]]] = {"hidden": frozenset({"forward", "target"}),
                                                  "output": frozenset({"forward", "target"})}
    modifies = (FORWARD, INVERSE)
    probes = ("inverse_error",)
    #: whether the output layer holds an inverse (not DTP, whose penultimate target is a gradient step)
    output_inverse: ClassVar[bool] = True

    def passes(self) -> tuple[StepPlan, ...]:
        if self.options.schedule == "parallel":
            return PARALLEL_ORDERS[self.options.parallel_order]
        return SCHEDULES[self.options.schedule]

    def channels(self, layers: Sequence[LayerInfo]) -> list[Channel]:
        return [Channel(upper.name, lower.name, "target") for lower, upper in itertools.pairwise(layers)]

    def needs_exact_inverse(self, info: LayerInfo) -> bool:
        # Above the first layer every layer passes targets down: by a learned inverse of its
        # weights, or by its exact inverse where it has no weights to learn one for.
        return info.index > 0 and not info.has_params

    def has_inverse(self, info: LayerInfo) -> bool:
        """Whether layer `info` holds a learned inverse g_l."""
        return (info.index > 0 and info.has_params and not info.exact_inverse
                and (info.role == "hidden" or self.output_inverse))

    def inverse_out_units(self, info: LayerInfo) -> int:
        """Width of what the inverse reads: the layer's output units (AO-SDTP adds its aux units)."""
        return info.units

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        if not self.has_inverse(info):
            return RuleState()
        shape = info.weight_shape
        if info.role == "output":  # dense output: (inputs, outputs [+ aux])
            shape = (shape[0], self.inverse_out_units(info))
        fan_in, fan_out = info.fans
        if info.role == "output":
            fan_out = self.inverse_out_units(info)
        backend = init.backend
        V = glorot_uniform(init.rng, shape, fan_in, fan_out, backend.dtype)
        arrays = {"V": backend.to_device(V), "c": backend.xp.zeros(info.in_shape, dtype=backend.dtype)}
        return RuleState(arrays, {"inverse": ("V", "c")}, init.noise())

    # -- the inverse g(h) = act(V^T h + c) and its local training ------------------------

    def inverse(self, view: LocalView, h: Any) -> Any:
        """g(h): (B, *out_shape [+aux]) -> (B, *in_shape), the learned inverse at `view`."""
        state = view.state.arrays
        return self.inverse_activate(view.layer.xp, view.layer.transpose(h, state["V"]) + state["c"])

    def inverse_activate(self, xp: Any, a: Any) -> Any:
        """The inverse's nonlinearity applied to its pre-activation a = V^T h + c."""
        return xp.tanh(a) if self.options.inverse_activation == "tanh" else a

    def inverse_input(self, view: LocalView, x: Any) -> Any:
        """What the inverse at `view` reads for layer input x: f(x) (AO-SDTP appends z)."""
        return view.layer.forward(x)[1]

    def inverse_grads(self, view: LocalView) -> dict[str, Any]:
        """Gradients of ||g(f(x~)) - r||^2 in V, c at `view`, from its cached input x."""
        x, sigma = view.x, self.options.sigma
        noisy = x + sigma * view.state.rng.standard_normal(x.shape, dtype=x.dtype) if sigma > 0 else x
        y = self.inverse_input(view, noisy)
        recon = self.inverse(view, y)
        goal = noisy if self.options.noise == "preserving" else x
        d = loss_gradient(2 * (recon - goal), self.options.inverse_loss)
        if self.options.inverse_activation == "tanh":
            d = d * (1 - recon * recon)
        return {"V": view.layer.weight_grads(d, y)["W"], "c": d.sum(axis=0)}

    def probe(self, view: LocalView, name: str) -> Any:
        """inverse_error: the batch mean of ||g(f(x)) - x||^2 at a layer with a learned inverse."""
        if name != "inverse_error":
            raise KeyError(name)
        if "V" not in view.state.arrays or view.x is None:
            return None
        x = view.x
        diff = (self.inverse(view, self.inverse_input(view, x)) - x).reshape(x.shape[0], -1)
        return (diff * diff).sum(axis=1).mean()

    # -- messages ----------------------------------------------------------------------

    def after_forward(self, view: LocalView, message: Message) -> Reply:
        if message.phase == "inverse" and "inverse" in view.state.learned:
            return Reply((), {"inverse": self.inverse_grads(view)})
        return NOTHING

    def handle(self, view: LocalView, message: Message) -> Reply:
        layer = view.layer
        if view.role == "output":
            out = tuple(self.output_target(view, message.payload)) if "target" in view.sends else ()
            grads = {"forward": layer.weight_grads(view.x, label_delta(view, message))}
        else:
            out = (("target", self.propagate(view, message.payload)),) if "target" in view.sends else ()
            d = loss_gradient(2 * (view.h - message.payload), self.options.local_loss) * layer.derivative(view.a, view.h)
            grads = {"forward": layer.weight_grads(view.x, d)}
        if message.phase == TARGET_INVERSE.name and "inverse" in view.state.learned:
            # Algorithm 1: the target above was computed with V, c as at the forward pass;
            # the node applies both groups' steps only after this handler returns.
            grads["inverse"] = self.inverse_grads(view)
        return Reply(out, grads)

    def propagate(self, view: LocalView, target: Any) -> Any:
        """t_{l-1} from t_l at a hidden layer: difference target propagation through the
        learned inverse (taken as a difference first, so that t_l == h_l gives t_{l-1} ==
        h_{l-1} exactly, not to rounding), or the layer's exact inverse where it has one."""
        if view.layer.exact_inverse:
            return view.layer.inverse(target)
        return self.target_below(view, target)

    def target_below(self, view: LocalView, target: Any) -> Any:
        """t_{l-1} through the learned inverse: h_{l-1} + g(t_l) - g(h_l) (tp: g(t_l))."""
        return view.x + (self.inverse(view, target) - self.inverse(view, view.h))

    def output_target(self, view: LocalView, onehot: Any) -> list[tuple[str, Any]]:
        """The penultimate target, from the labels at the output layer (rule-specific)."""
        raise NotImplementedError
