"""Correctness checks for the PyTorch reference used by the benchmark."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from runners.bench.torch_reference import RULES, TorchMLP, dfa_grads, fa_grads, make_trainer  # noqa: E402

SIZES = [6, 5, 4, 3]


def test_fa_with_feedback_equal_to_weights_is_backprop() -> None:
    """FA's manual backward with B_l = W_l reproduces autograd's gradients (float64)."""
    g = torch.Generator().manual_seed(1)
    model = TorchMLP(SIZES, g, torch.float64)
    with torch.no_grad():  # non-zero biases so they are exercised too
        for b in model.biases:
            b.uniform_(-0.5, 0.5, generator=g)
    x = torch.randn(7, SIZES[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, SIZES[-1], (7,), generator=g)

    loss = F.cross_entropy(model(x), y)
    loss.backward()

    weights, biases = list(model.weights), list(model.biases)
    grad_w, grad_b, fa_loss = fa_grads(weights, biases, weights, x, y)
    torch.testing.assert_close(fa_loss, loss.detach(), rtol=1e-12, atol=1e-12)
    for p, g_manual in zip(weights + biases, grad_w + grad_b):
        assert g_manual.shape == p.shape
        torch.testing.assert_close(g_manual, p.grad, rtol=1e-10, atol=1e-12)


def test_dfa_with_one_hidden_layer_and_feedback_w_transposed_is_backprop() -> None:
    """With one hidden layer, DFA with B_1 = W_2^T is exact backprop (float64)."""
    g = torch.Generator().manual_seed(4)
    model = TorchMLP([6, 5, 3], g, torch.float64)
    x = torch.randn(7, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (7,), generator=g)
    F.cross_entropy(model(x), y).backward()

    weights, biases = list(model.weights), list(model.biases)
    grad_w, grad_b, _ = dfa_grads(weights, biases, [weights[1].detach().T], x, y)
    for p, g_manual in zip(weights + biases, grad_w + grad_b):
        torch.testing.assert_close(g_manual, p.grad, rtol=1e-10, atol=1e-12)


def test_trainer_fa_with_feedback_equal_to_weights_matches_bp_trainer() -> None:
    """Whole steps (grads + Adam) of FA with B = W track the BP trainer exactly."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, SIZES[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, SIZES[-1], (8,), generator=g)
    bp = make_trainer("bp", SIZES, 1e-2, seed=3, dtype=torch.float64)
    fa = make_trainer("fa", SIZES, 1e-2, seed=3, dtype=torch.float64, feedback_is_weights=True)
    for _ in range(3):
        assert bp(x, y) == pytest.approx(fa(x, y), rel=1e-10)
    for p_bp, p_fa in zip(bp.model.parameters(), fa.model.parameters()):
        torch.testing.assert_close(p_fa, p_bp, rtol=1e-10, atol=1e-12)


def test_feedback_shapes() -> None:
    fa = make_trainer("fa", SIZES, 1e-3)
    dfa = make_trainer("dfa", SIZES, 1e-3)
    assert [tuple(b.shape) for b in fa.feedback] == [(6, 5), (5, 4), (4, 3)]
    assert [tuple(b.shape) for b in dfa.feedback] == [(3, 5), (3, 4)]
    assert [tuple(w.shape) for w in fa.model.weights] == [(6, 5), (5, 4), (4, 3)]
    assert all(not b.any() for b in fa.model.biases)


@pytest.mark.parametrize("rule", RULES)
def test_training_reduces_loss_on_separable_problem(rule: str) -> None:
    """A few steps on two linearly separable Gaussian blobs lower the loss."""
    g = torch.Generator().manual_seed(0)
    n, dim = 64, 8
    y = torch.randint(0, 2, (n,), generator=g)
    centers = torch.tensor([[-1.0] * dim, [1.0] * dim])
    x = centers[y] + 0.3 * torch.randn(n, dim, generator=g)
    step = make_trainer(rule, [dim, 16, 16, 2], lr=1e-2, seed=0)
    losses = [step(x, y) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0], losses
