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

from .derive import sample_suffix
from .solve import Solution

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


def quantities(sol: Solution) -> tuple[Quantity, ...]:
    spec, der = sol.spec, sol.derivation
    depth, samples = len(spec.layers), len(spec.x)
    out: list[Quantity] = []
    for step in sol.steps:
        n = step.number

        def of(sample: int) -> str:
            return f" (sample {sample})" if samples > 1 else ""

        for s in range(1, samples + 1):
            sfx = sample_suffix(spec, s)
            for l, layer in enumerate(spec.layers, start=1):
                units = range(1, layer.units + 1)
                order = ([("z", i) for i in units] + [("a", i) for i in units] if layer.activation == "softmax"
                         else [(kind, i) for i in units for kind in ("z", "a")])
                for kind, i in order:
                    name = f"{kind}{l}_{i}{sfx}"
                    if kind == "z":
                        words = f"the input z of unit {i} of layer {l}{of(s)}"
                    elif l == depth:
                        words = f"the output ŷ{'' if layer.units == 1 else f' {i}'}{of(s)}"
                    else:
                        words = f"the activation a of unit {i} of layer {l}{of(s)}"
                    out.append(Quantity(n, name, kind, words, step.values[name], l, i, s))
        out.append(Quantity(n, "L", "loss", "the loss L", step.values["L"]))
        for s in range(1, samples + 1):
            sfx = sample_suffix(spec, s)
            for k in range(1, spec.layers[-1].units + 1):
                name = f"dL_dyhat{k}{sfx}"
                out.append(Quantity(n, name, "dyhat", f"∂L/∂ŷ of output {k}{of(s)}", step.values[name],
                                    depth, k, s))
            for l in range(depth, 0, -1):
                for i in range(1, spec.layers[l - 1].units + 1):
                    name = f"delta{l}_{i}{sfx}"
                    out.append(Quantity(n, name, "delta", f"δ = ∂L/∂z of unit {i} of layer {l}{of(s)}",
                                        step.values[name], l, i, s))
        for eq in der.grads:
            group, layer, index = eq.param
            out.append(Quantity(n, eq.name, "grad", f"∂L/∂ of {_param_words(group, index)}",
                                step.values[eq.name], layer, index[0], group=group, index=index))
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
