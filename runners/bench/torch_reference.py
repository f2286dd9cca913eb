"""Plain PyTorch reference for MLP training with BP, FA and DFA, on the CPU or CUDA.

Used only by the benchmark, to put localnet's examples/second next to an idiomatic
torch implementation of the same networks and rules; torch is never in localnet's
training path. ``make_trainer(..., device="cuda")`` builds the same network (the same
seeded draws, made on the CPU and moved) on the GPU, for localnet's ``cupy`` backend.
The locally-connected nets' reference is :mod:`runners.bench.torch_lc_reference`. The CUDA
path has not yet run on a GPU (runners/device_check runs it).

Conventions match localnet: activations are row-major, batch first, and layer ``l``
(1-based, ``l = 1 .. L``) computes ``a_l = h_{l-1} @ W_l + b_l`` with ``W_l`` of shape
``(n_{l-1}, n_l)`` and ``b_l`` of shape ``(n_l,)``; hidden layers use
``h_l = tanh(a_l)``, the output ``a_L`` are logits fed to softmax + cross-entropy,
averaged over the batch. ``h_0 = x``.

Rules (all update with Adam, as in Bartunov et al. 2018's comparisons):

* ``"bp"``  -- autograd (``loss.backward()``) + ``torch.optim.Adam``.
* ``"fa"``  -- feedback alignment: a manual backward pass under ``torch.no_grad()``
  where the error is carried down through fixed random matrices ``B_l`` (same shape
  as ``W_l``) instead of ``W_l``: ``e_{l-1} = delta_l @ B_l^T``.
* ``"dfa"`` -- direct feedback alignment: every hidden layer gets the output error
  through its own fixed random matrix ``B_l`` of shape ``(n_L, n_l)``:
  ``e_l = delta_L @ B_l``.

Run ``python -m runners.bench.torch_reference --rule bp --batch-size 100 --steps 200`` to
print examples/second on synthetic data of MNIST shape.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import Literal, cast

import click
import torch
import torch.nn.functional as F
from torch import Tensor, nn

Rule = Literal["bp", "fa", "dfa"]
AdamImpl = Literal["fused", "foreach", "for-loop"]
RULES: tuple[str, ...] = ("bp", "fa", "dfa")
MNIST_SIZES: list[int] = [784, 256, 256, 256, 256, 256, 10]


def glorot_uniform(
    shape: tuple[int, int],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    scale: float = 1.0,
) -> Tensor:
    """A ``shape`` tensor drawn from U(-r, r), ``r = scale * sqrt(6 / (fan_in + fan_out))``.

    ``fan_in + fan_out = shape[0] + shape[1]``, so the limit does not depend on which
    side is "in" (row-major ``(n_in, n_out)`` and ``(n_out, n_in)`` give the same r).
    """
    limit = scale * math.sqrt(6.0 / (shape[0] + shape[1]))
    w = torch.empty(shape, dtype=dtype)
    w.uniform_(-limit, limit, generator=generator)
    return w


class TorchMLP(nn.Module):
    """Tanh MLP with a linear (logit) output layer.

    Args:
        sizes: layer widths ``[n_0, n_1, ..., n_L]``, e.g. ``[784, 256, ..., 10]``.
        generator: source of the Glorot-uniform weights (biases start at zero).
        dtype: parameter dtype (float32 for benchmarking, float64 for checks).

    Attributes:
        weights: ``L`` parameters, ``weights[l-1]`` is ``W_l`` of shape ``(n_{l-1}, n_l)``.
        biases: ``L`` parameters, ``biases[l-1]`` is ``b_l`` of shape ``(n_l,)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
        self.sizes = list(sizes)
        self.weights = nn.ParameterList(
            nn.Parameter(glorot_uniform((n_in, n_out), generator, dtype))
            for n_in, n_out in itertools.pairwise(sizes)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(n_out, dtype=dtype)) for n_out in sizes[1:]
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map inputs ``x`` (B, n_0) to logits ``a_L`` (B, n_L)."""
        return mlp_forward(list(self.weights), list(self.biases), x)[1]


def mlp_forward(
    weights: Sequence[Tensor], biases: Sequence[Tensor], x: Tensor
) -> tuple[list[Tensor], Tensor]:
    """Forward pass keeping what a manual backward pass needs.

    Args:
        weights: ``W_1 .. W_L``, ``W_l`` of shape (n_{l-1}, n_l).
        biases: ``b_1 .. b_L``, ``b_l`` of shape (n_l,).
        x: inputs ``h_0`` of shape (B, n_0).

    Returns:
        hs: ``[h_0 = x, h_1, ..., h_{L-1}]``, ``h_l = tanh(h_{l-1} @ W_l + b_l)`` of
            shape (B, n_l).
        logits: ``a_L = h_{L-1} @ W_L + b_L`` of shape (B, n_L).
    """
    n_layers = len(weights)
    hs = [x]
    for i in range(n_layers - 1):
        hs.append(torch.tanh(torch.addmm(biases[i], hs[-1], weights[i])))
    return hs, torch.addmm(biases[-1], hs[-1], weights[-1])


def output_delta(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient of the mean cross-entropy w.r.t. the logits, and the loss.

    Args:
        logits: ``a_L`` of shape (B, n_L).
        y: integer class labels of shape (B,).

    Returns:
        delta_L: ``(softmax(a_L) - onehot(y)) / B`` of shape (B, n_L).
        loss: scalar tensor, mean over the batch of ``-log softmax(a_L)[y]``.
    """
    batch = logits.shape[0]
    log_p = torch.log_softmax(logits, dim=1)
    loss = F.nll_loss(log_p, y)
    delta = log_p.exp_()
    delta[torch.arange(batch, device=logits.device), y] -= 1.0
    delta.div_(batch)
    return delta, loss


def fa_grads(
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    feedback: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """Feedback-alignment gradients of the mean cross-entropy (no autograd).

    Args:
        weights: ``W_1 .. W_L``, ``W_l`` of shape (n_{l-1}, n_l).
        biases: ``b_1 .. b_L``, ``b_l`` of shape (n_l,).
        feedback: ``B_1 .. B_L`` with ``B_l`` of ``W_l``'s shape; ``B_1`` is never used
            (nothing is propagated below the input) and may be any tensor.
            With ``B_l = W_l`` this is exactly backpropagation.
        x: inputs of shape (B, n_0).
        y: labels of shape (B,).

    Returns:
        grad_w: ``dW_l = h_{l-1}^T delta_l``, shapes of ``weights``.
        grad_b: ``db_l = sum over the batch of delta_l``, shapes of ``biases``.
        loss: scalar tensor, the batch-mean cross-entropy before the update.
    """
    n_layers = len(weights)
    with torch.no_grad():
        hs, logits = mlp_forward(weights, biases, x)
        delta, loss = output_delta(logits, y)
        grad_w: list[Tensor] = []  # filled top-down, reversed at the end
        grad_b: list[Tensor] = []
        for i in range(n_layers - 1, -1, -1):  # i = l - 1
            h_prev = hs[i]
            grad_w.append(h_prev.T @ delta)
            grad_b.append(delta.sum(0))
            if i > 0:
                err = delta @ feedback[i].T  # e_{l-1}, (B, n_{l-1})
                delta = err.mul_(1.0 - h_prev * h_prev)  # tanh' = 1 - h^2
    return grad_w[::-1], grad_b[::-1], loss


def dfa_grads(
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    feedback: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """Direct-feedback-alignment gradients (no autograd).

    Args:
        weights, biases, x, y: as in :func:`fa_grads`.
        feedback: ``B_1 .. B_{L-1}``, one per hidden layer, ``B_l`` of shape (n_L, n_l).

    Returns:
        grad_w, grad_b, loss: as in :func:`fa_grads`; the output layer's grads are the
        true gradients, hidden layer ``l`` uses ``delta_l = (delta_L @ B_l) * (1 - h_l^2)``.
    """
    n_layers = len(weights)
    with torch.no_grad():
        hs, logits = mlp_forward(weights, biases, x)
        delta_out, loss = output_delta(logits, y)
        grad_w: list[Tensor] = []
        grad_b: list[Tensor] = []
        for i in range(n_layers):  # i = l - 1
            if i == n_layers - 1:
                delta = delta_out
            else:
                h = hs[i + 1]
                delta = (delta_out @ feedback[i]).mul_(1.0 - h * h)
            grad_w.append(hs[i].T @ delta)
            grad_b.append(delta.sum(0))
    return grad_w, grad_b, loss


def make_feedback(
    rule: Rule,
    sizes: Sequence[int],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    scale: float = 1.0,
) -> list[Tensor]:
    """Fixed random feedback matrices, Glorot-uniform times ``scale``.

    ``"fa"``: ``L`` matrices, ``B_l`` of shape (n_{l-1}, n_l) like ``W_l`` (``B_1`` is
    drawn for a uniform layout but never used). ``"dfa"``: ``L - 1`` matrices, ``B_l``
    of shape (n_L, n_l) for the hidden layers. ``"bp"``: empty.
    """
    if rule == "bp":
        return []
    if rule == "fa":
        shapes = list(itertools.pairwise(sizes))
    elif rule == "dfa":
        shapes = [(sizes[-1], n) for n in sizes[1:-1]]
    else:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    return [glorot_uniform(s, generator, dtype, scale) for s in shapes]


def make_adam(
    params: Sequence[Tensor],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    impl: AdamImpl = "fused",
) -> torch.optim.Adam:
    """``torch.optim.Adam`` with the chosen kernel family.

    ``"fused"`` (default here; supported on CPU since torch 2.4) was the fastest in our
    CPU measurements; ``"foreach"`` and ``"for-loop"`` are the multi-tensor and the
    per-parameter implementations. All three compute the same update.
    """
    options: dict[str, dict[str, bool]] = {
        "fused": {"fused": True},
        "foreach": {"foreach": True},
        "for-loop": {"foreach": False},
    }
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, **options[impl])


class Trainer:
    """One training step per call: ``trainer(x, y) -> loss``.

    Built by :func:`make_trainer`. ``x`` is a minibatch (B, n_0) in the model's dtype,
    ``y`` its labels (B,) int64, both on the model's device; the return value is the
    batch-mean cross-entropy measured before the update: a Python float on the CPU, a 0-d
    tensor on a GPU (reading it would wait for the GPU at every step, which localnet's
    trainer, summing its losses on the device, does not do either).

    Attributes:
        rule: ``"bp"``, ``"fa"`` or ``"dfa"``.
        model: the :class:`TorchMLP` being trained.
        feedback: the fixed feedback matrices (see :func:`make_feedback`); empty for BP.
        optimizer: the ``torch.optim.Adam`` over ``weights + biases``.
    """

    def __init__(
        self,
        rule: Rule,
        model: TorchMLP,
        feedback: list[Tensor],
        optimizer: torch.optim.Optimizer,
    ) -> None:
        self.rule = rule
        self.model = model
        self.feedback = feedback
        self.optimizer = optimizer
        self._weights = list(model.weights)
        self._biases = list(model.biases)
        self._params = self._weights + self._biases
        self._grads_fn = {"bp": None, "fa": fa_grads, "dfa": dfa_grads}[rule]
        self._on_cpu = self._weights[0].device.type == "cpu"

    def __call__(self, x: Tensor, y: Tensor) -> float | Tensor:
        """Train on ``x`` (B, n_0), ``y`` (B,); return the pre-update batch loss."""
        if self._grads_fn is None:  # BP: plain autograd
            loss = F.cross_entropy(self.model(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        else:  # FA / DFA: manual backward, grads handed to the same optimizer
            grad_w, grad_b, loss = self._grads_fn(
                self._weights, self._biases, self.feedback, x, y
            )
            for p, g in zip(self._params, grad_w + grad_b):
                p.grad = g
        self.optimizer.step()
        return loss.item() if self._on_cpu else loss.detach()


def make_trainer(
    rule: str,
    sizes: Sequence[int],
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    feedback_scale: float = 1.0,
    seed: int = 0,
    threads: int | None = None,
    dtype: torch.dtype = torch.float32,
    adam: AdamImpl = "fused",
    feedback_is_weights: bool = False,
    device: str | torch.device = "cpu",
) -> Trainer:
    """Build a network, its feedback matrices and Adam; return a one-step callable.

    Args:
        rule: ``"bp"``, ``"fa"`` or ``"dfa"``.
        sizes: layer widths ``[n_0, ..., n_L]``.
        lr, betas, eps: Adam hyper-parameters.
        feedback_scale: multiplies the Glorot-uniform feedback matrices (FA/DFA).
        seed: seeds a private ``torch.Generator`` that draws the weights, then the
            feedback matrices (the global torch RNG is left alone).
        threads: if given, calls ``torch.set_num_threads(threads)``. This is
            process-wide; ``None`` keeps torch's default (all cores).
        dtype: parameter dtype; inputs must match it.
        adam: which ``torch.optim.Adam`` implementation (see :func:`make_adam`).
        feedback_is_weights: FA only, for testing: use ``B_l = W_l`` (the live
            weights, so FA reduces to exact backprop).
        device: where the network, its feedback and Adam's state live ("cpu", "cuda").
            The draws are made on the CPU and moved, so every device starts from the
            same numbers.

    Returns:
        A :class:`Trainer`; ``step = make_trainer(...); loss = step(x, y)`` performs
        one training step on the minibatch ``x`` (B, n_0), ``y`` (B,) int64.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    if feedback_is_weights and rule != "fa":
        raise ValueError("feedback_is_weights only makes sense for rule 'fa'")
    checked_rule = cast(Rule, rule)
    if threads is not None:
        torch.set_num_threads(threads)

    generator = torch.Generator().manual_seed(seed)
    model = TorchMLP(sizes, generator, dtype).to(device)
    if feedback_is_weights:
        feedback = list(model.weights)
    else:
        feedback = [b.to(device) for b in make_feedback(checked_rule, sizes, generator, dtype, feedback_scale)]
    optimizer = make_adam([*model.weights, *model.biases], lr, betas, eps, adam)
    return Trainer(checked_rule, model, feedback, optimizer)


def time_trainer(
    step: Callable[[Tensor, Tensor], object],
    x_all: Tensor,
    y_all: Tensor,
    batch_size: int,
    steps: int,
    warmup: int = 5,
    clock: Callable[[], float] = time.perf_counter,
    sync: Callable[[], None] | None = None,
) -> float:
    """Time ``steps`` training steps and return examples/second.

    Minibatches are consecutive slices (views, no copies) ``x_all[k*B:(k+1)*B]``,
    cycling over the ``len(x_all) // batch_size`` full batches; a trailing partial
    batch is never used. ``warmup`` untimed steps run first (allocator, thread pool,
    Adam state). Only the steps are timed, with ``clock`` (wall time by default;
    ``time.process_time`` for CPU time).

    Args:
        step: from :func:`make_trainer`.
        x_all: inputs (N, n_0), already in the step's dtype.
        y_all: labels (N,) int64.
        batch_size: B; must be ``<= N``.
        steps: number of timed steps (> 0).
        warmup: number of untimed steps before timing.
        clock: the timer.
        sync: on a GPU, ``torch.cuda.synchronize``: called before the clock starts and
            before it stops, so the time covers the queued work and nothing before it.
    """
    n_batches = x_all.shape[0] // batch_size
    if n_batches == 0 or steps <= 0:
        raise ValueError(
            f"need batch_size <= N and steps > 0 (N={x_all.shape[0]}, "
            f"batch_size={batch_size}, steps={steps})"
        )
    batches = [
        (x_all[lo : lo + batch_size], y_all[lo : lo + batch_size])
        for lo in range(0, n_batches * batch_size, batch_size)
    ]
    for k in range(warmup):
        step(*batches[k % n_batches])
    if sync is not None:
        sync()
    start = clock()
    for k in range(steps):
        step(*batches[k % n_batches])
    if sync is not None:
        sync()
    elapsed = clock() - start
    return steps * batch_size / elapsed


def synthetic_mnist(
    n: int = 10_000, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """Random MNIST-shaped data: x (n, 784) uniform in [0, 1), y (n,) int64 in [0, 10)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 784, generator=g, dtype=dtype)
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def _sizes(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    sizes = [int(v) for v in value.split(",")]
    if sizes[0] != 784:
        raise click.BadParameter("synthetic data is MNIST-shaped: the first width must be 784")
    return sizes


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rule", type=click.Choice(RULES), default="bp", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--lr", type=float, default=1e-4, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Default: torch's (all cores).")
@click.option("--adam", type=click.Choice(["fused", "foreach", "for-loop"]), default="fused", show_default=True)
@click.option("--sizes", default=",".join(map(str, MNIST_SIZES)), show_default=True, callback=_sizes,
              help="Comma-separated widths.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
def main(rule: str, batch_size: int, steps: int, warmup: int, lr: float, threads: int | None, adam: str,
         sizes: list[int], seed: int, device: str) -> None:
    """Print examples/second of one rule on synthetic MNIST-shaped data."""
    step = make_trainer(rule, sizes, lr, seed=seed, threads=threads, adam=cast(AdamImpl, adam), device=device)
    x_all, y_all = (t.to(device) for t in synthetic_mnist(seed=seed))
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else None
    eps = time_trainer(step, x_all, y_all, batch_size, steps, warmup, sync=sync)
    click.echo(f"rule={rule} batch_size={batch_size} threads={torch.get_num_threads()} adam={adam} examples/s={eps:.0f}")

if __name__ == "__main__":
    main()
