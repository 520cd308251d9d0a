"""Quantities stage: a `Solution` in, every number a student computes out.

Contract: pure. `quantities(sol)` lists, step by step and in the worksheet's
order (the forward pass neuron by neuron, the loss, ∂L/∂ŷ and the δ's from
the output layer down, the gradients, then the update table), each quantity
with its stable name (the blank sheet's label), what it is in words, where
it sits in the network, and its exact value. The answers file, the checker
and the blank sheet all take their names from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .derive import Derivation, Equation
from .notation import ACTIVATION_NAMES
from .solve import Solution
from .spec import Spec

KINDS = ("z", "a", "loss", "dyhat", "delta", "grad", "velocity", "eta", "new")


@dataclass(frozen=True)
class Quantity:
    step: int  # from 1
    name: str  # z1_1, a2_1_s2, L, dL_dyhat1, delta2_1, dW1_1_2, db1_1, v_W1_1_2, eta_dW1_1_2, new_W1_1_2
    kind: str  # one of KINDS
    words: str
    value: Fraction
    layer: int = 0
    unit: int = 0
    sample: int = 1
    group: str = ""  # a parameter's group: W1, b2
    index: tuple[int, ...] = ()  # a parameter's place in its group, from 1

    @property
    def key(self) -> str:
        """The answers file's key: step1.z1_1."""
        return f"step{self.step}.{self.name}"


def entries(values: tuple):
    """((i, j), value) for a weight matrix, ((i,), value) for a bias vector; from 1."""
    if values and isinstance(values[0], tuple):
        for i, row in enumerate(values, start=1):
            for j, v in enumerate(row, start=1):
                yield (i, j), v
    else:
        for i, v in enumerate(values, start=1):
            yield (i,), v


def param_name(group: str, index: tuple[int, ...]) -> str:
    """W1, (2, 1) -> W1_2_1"""
    return f"{group}_{'_'.join(map(str, index))}"


def _param_words(group: str, index: tuple[int, ...]) -> str:
    layer = group[1:]
    if group[0] == "W":
        return f"the weight from input {index[1]} to unit {index[0]} of layer {layer}"
    return f"the bias of unit {index[0]} of layer {layer}"


@dataclass(frozen=True)
class Section:
    """A run of one step's equations under one heading."""

    part: str  # forward, loss, backward or gradients
    heading: str
    equations: tuple[Equation, ...]


def neuron_order(eqs: list[Equation], activation: str) -> list[Equation]:
    """A layer's z's and a's as a hand calculation goes: z then a for each unit
    in turn; a softmax needs every z of its layer before any a."""
    if activation == "softmax":
        return eqs
    zs = [eq for eq in eqs if eq.kind == "z"]
    as_ = [eq for eq in eqs if eq.kind == "a"]
    return [eq for pair in zip(zs, as_) for eq in pair]


def sections(spec: Spec, der: Derivation) -> tuple[Section, ...]:
    """One step's equations in the worksheet's order, which the answers file and
    the checker follow too: the forward pass per sample and layer, the loss,
    ∂L/∂ŷ and the δ's per sample from the output layer down, the gradients."""
    samples, depth = len(spec.x), len(spec.layers)
    out = []
    for s in range(1, samples + 1):
        where = f", sample {s}" if samples > 1 else ""
        for l, layer in enumerate(spec.layers, start=1):
            eqs = [eq for eq in der.forward if eq.sample == s and eq.layer == l]
            out.append(Section("forward", f"Layer {l} ({ACTIVATION_NAMES[layer.activation]}){where}",
                               tuple(neuron_order(eqs, layer.activation))))
    out.append(Section("loss", "Loss", (der.loss,)))
    for s in range(1, samples + 1):
        where = f", sample {s}" if samples > 1 else ""
        out.append(Section("backward", f"Output gradient{where}",
                           tuple(eq for eq in der.output_grads if eq.sample == s)))
        for l in range(depth, 0, -1):
            out.append(Section("backward", f"δ, layer {l}{where}",
                               tuple(eq for eq in der.deltas if eq.sample == s and eq.layer == l)))
    for l in range(depth, 0, -1):
        eqs = tuple(eq for eq in der.grads if eq.layer == l)
        if eqs:
            out.append(Section("gradients", f"Gradients, layer {l}", eqs))
    return tuple(out)


def _words(eq: Equation, spec: Spec) -> str:
    of = f" (sample {eq.sample})" if len(spec.x) > 1 else ""
    if eq.kind == "z":
        return f"the input z of unit {eq.unit} of layer {eq.layer}{of}"
    if eq.kind == "a" and eq.layer == len(spec.layers):
        return f"the output ŷ{'' if spec.layers[-1].units == 1 else f' {eq.unit}'}{of}"
    if eq.kind == "a":
        return f"the activation a of unit {eq.unit} of layer {eq.layer}{of}"
    if eq.kind == "loss":
        return "the loss L"
    if eq.kind == "dyhat":
        return f"∂L/∂ŷ of output {eq.unit}{of}"
    if eq.kind == "delta":
        return f"δ = ∂L/∂z of unit {eq.unit} of layer {eq.layer}{of}"
    group, _, index = eq.param
    return f"the gradient ∂L/∂{'w' if group[0] == 'W' else 'b'} of {_param_words(group, index)}"


def quantities(sol: Solution) -> tuple[Quantity, ...]:
    spec = sol.spec
    order = [eq for section in sections(spec, sol.derivation) for eq in section.equations]
    out: list[Quantity] = []
    for step in sol.steps:
        n = step.number
        for eq in order:
            group, _, index = eq.param or ("", 0, ())
            out.append(Quantity(n, eq.name, eq.kind, _words(eq, spec), step.values[eq.name], eq.layer, eq.unit,
                                eq.sample, group, index))
        for group in spec.group_names:
            if group not in step.grads:
                continue
            for index, new in entries(step.updated[group]):
                key = param_name(group, index)
                velocity = at(step.velocity[group], index)
                words = _param_words(group, index)
                grad = "v" if spec.momentum else "∂L/∂p"
                if spec.momentum:
                    out.append(Quantity(n, f"v_{key}", "velocity", f"the momentum buffer v of {words}", velocity,
                                        int(group[1:]), index[0], group=group, index=index))
                out.append(Quantity(n, eta_name(key, bool(spec.momentum)), "eta", f"η·{grad} for {words}",
                                    spec.learning_rate * velocity, int(group[1:]), index[0], group=group,
                                    index=index))
                out.append(Quantity(n, f"new_{key}", "new", f"{words} after step {n}", new,
                                    int(group[1:]), index[0], group=group, index=index))
    return tuple(out)


def eta_name(key: str, momentum: bool) -> str:
    """eta_dW1_1_1 (η times the gradient), or eta_v_W1_1_1 with momentum."""
    return f"eta_v_{key}" if momentum else f"eta_d{key}"


def at(values: tuple, index: tuple[int, ...]):
    """The entry of a weight matrix or bias vector at a 1-based index."""
    for i in index:
        values = values[i - 1]
    return values
