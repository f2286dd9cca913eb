"""Schedules as data: which phases each training step runs, pass by pass, epoch by epoch.

A *phase* is one round of message delivery within a step; the data source injects either
the minibatch inputs (a forward sweep) or the one-hot labels (the start of learning).
Phase names carry their meaning to the layers:

- ``forward``:  forward sweep, nothing learns;
- ``inverse``:  forward sweep during which each layer trains its inverse on its own input
                (target propagation), so parallel and alternating differ only in phase order;
- ``feedback``: learning from errors sent down (BP, FA, DFA);
- ``target``:   learning from targets sent down (the TP family);
- ``target_inverse``: as ``target``, and each layer then also trains its inverse on the
                input it cached in the forward sweep, after computing its target with the
                inverse as it was at the forward pass (the parallel step of Algorithm 1).

An epoch is one or more *passes* over the training set, each pass a step plan.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("inputs", "labels")


@dataclass(frozen=True)
class Phase:
    """name: what the phase means to layers; source: what the input node injects."""

    name: str
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"phase source must be one of {SOURCES}, got {self.source!r}")


StepPlan = tuple[Phase, ...]

FORWARD = Phase("forward", "inputs")
INVERSE = Phase("inverse", "inputs")
FEEDBACK = Phase("feedback", "labels")
TARGET = Phase("target", "labels")
TARGET_INVERSE = Phase("target_inverse", "labels")

#: BP, FA, DFA: one pass per epoch, each step a forward sweep then error feedback.
ERROR_FEEDBACK: tuple[StepPlan, ...] = ((FORWARD, FEEDBACK),)
#: TP, parallel (the paper's Algorithm 1): every step computes the targets with the inverses
#: as they were at the forward pass, then takes the inverse and forward steps.
PARALLEL: tuple[StepPlan, ...] = ((FORWARD, TARGET_INVERSE),)
#: TP, parallel with the inverses trained first (during the forward sweep), so that the
#: targets come from the inverses just updated in the same step.
PARALLEL_INVERSE_FIRST: tuple[StepPlan, ...] = ((INVERSE, TARGET),)
#: TP, alternating (Lee et al.): a full pass training inverses, then a full pass training forward weights.
ALTERNATING: tuple[StepPlan, ...] = ((INVERSE,), (FORWARD, TARGET))

SCHEDULES = {"parallel": PARALLEL, "alternating": ALTERNATING}
#: the parallel schedule's two orders (TargetOptions.parallel_order); the first is the default
PARALLEL_ORDERS = {"targets_first": PARALLEL, "inverse_first": PARALLEL_INVERSE_FIRST}
#: phases in which TP layers train their inverses
INVERSE_PHASES = frozenset({INVERSE.name, TARGET_INVERSE.name})


def learns_from_labels(plan: StepPlan) -> bool:
    """Whether a step plan updates forward weights from labels (its loss is the training loss)."""
    return any(phase.source == "labels" for phase in plan)


#: what each phase means, for `localnet schedule`
MEANINGS = {
    "forward": "forward sweep, nothing learns",
    "inverse": "forward sweep; each layer trains its inverse on its own input",
    "feedback": "errors sent down; forward weights learn",
    "target": "targets sent down; forward weights learn",
    "target_inverse": "targets sent down from the inverses as they were at the forward pass; "
                      "then inverses and forward weights learn (Algorithm 1)",
}


def trains_inverses(plan: StepPlan) -> bool:
    """Whether a step plan trains TP inverses in one of its phases."""
    return any(phase.name in INVERSE_PHASES for phase in plan)


def describe(passes: tuple[StepPlan, ...], rule: str, batches: int) -> str:
    """A human-readable account of one epoch, for `localnet schedule`."""
    lines = [f"rule {rule}: each epoch = {len(passes)} pass(es) over the training set, {batches} steps each"]
    for i, plan in enumerate(passes, 1):
        steps = " -> ".join(f"{p.name} (input injects {p.source})" for p in plan)
        lines.append(f"  pass {i}: every step: {steps}")
    names = dict.fromkeys(phase.name for plan in passes for phase in plan)
    lines += [f"    {name}: {MEANINGS[name]}" for name in names if name in MEANINGS]
    return "\n".join(lines)
