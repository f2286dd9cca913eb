"""A sweep's trials as a markdown table, best first."""

from __future__ import annotations

from collections.abc import Sequence

from .trials import Trial


def trials_markdown(trials: Sequence[Trial], keys: Sequence[str]) -> str:
    """One row per trial: status, epochs, best (epoch) and final test error, then its values."""
    head = "| trial | status | epochs | best test err % (epoch) | final test err % | " + " | ".join(keys) + " |"
    rule = "|---" * (5 + len(keys)) + "|"
    ranked = sorted(trials, key=lambda t: (t.best_test_error is None, t.best_test_error or 0.0, t.index))
    rows = []
    for t in ranked:
        best = "-" if t.best_test_error is None else f"{t.best_test_error:.2f} ({t.best_epoch})"
        final = "-" if t.final_test_error is None else f"{t.final_test_error:.2f}"
        rows.append(f"| {t.name} | {t.status} | {t.epochs} | {best} | {final} | "
                    + " | ".join(t.values.get(k, "") for k in keys) + " |")
    return "\n".join([head, rule, *rows])
