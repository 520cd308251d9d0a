"""Derive stage: a network's shape in, its symbolic hand calculation out.

Contract: pure, and independent of the numbers, so one `Derivation` serves
every step of a problem. It holds, in the order a student writes them:
the forward equations (z = Σ w·a + b, a = f(z)) per sample, layer and unit;
the loss; ∂L/∂ŷ; the backward deltas δ = ∂L/∂z per unit, from the output
layer down; and the gradient of every trainable parameter. Each backward
equation comes in two forms: `chain`, the chain rule in partial-derivative
factors, and `symbolic`, the same in the network's own symbols.

The symbolic form is the one courses teach: factors identically 1 (an
identity's derivative, ∂z/∂b) are left out, and where the output layer and the
loss cancel (softmax with cross-entropy, sigmoid with binary cross-entropy) the
output δ is (ŷ − y), scaled as the loss averages, with a note saying why;
its chain form still shows the product it comes from.

A hidden layer's δ refers to the next layer's deltas (δ symbols), and every
gradient to its own layer's δ (∂L/∂w = δ·a), rather than expanding every path
to the output, as backpropagation does: so the derivation grows with the
number of parameters, not of paths.
Expressions are built unevaluated so that printing keeps the factor order.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from .notation import ACTIVATION_FN, DERIVATIVE_FN, Symbols, constant
from .spec import Spec


@dataclass(frozen=True)
class Equation:
    """One computed quantity: `lhs = chain = symbolic`."""

    name: str  # stable name, also the blank sheet's label: z1_1, delta2_1, dW1_1_1 ...
    lhs: sp.Expr
    symbolic: sp.Expr
    chain: sp.Expr | None = None
    param: tuple[str, int, tuple[int, ...]] | None = None  # a gradient's: ("W1", layer 1, (i, j))
    kind: str = ""  # z, a, loss, dyhat, delta or grad
    layer: int = 0  # the unit's layer (the output layer for ∂L/∂ŷ), or the parameter's
    unit: int = 0  # the unit (or output) within it; a parameter's i
    sample: int = 1  # a gradient sums over every sample and keeps 1
    note: str = ""  # why the symbolic form is simpler than the chain rule's product, where it is


@dataclass(frozen=True)
class Derivation:
    symbols: Symbols
    forward: tuple[Equation, ...]  # z then a, per sample, layer, unit
    loss: Equation
    output_grads: tuple[Equation, ...]  # ∂L/∂ŷ per sample and output
    deltas: tuple[Equation, ...]  # per sample, from the output layer down
    grads: tuple[Equation, ...]  # trainable parameters, output layer first
    loss_scale: Fraction  # L = loss_scale · Σ over samples and outputs of the per-element loss


def _mul(*factors) -> sp.Expr:
    return sp.Mul(*factors, evaluate=False)


def _add(*terms) -> sp.Expr:
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _neg(term) -> sp.Expr:
    return sp.Mul(sp.Integer(-1), term, evaluate=False)


def _rat(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


def _scaled(q: Fraction, expr) -> sp.Expr:
    return expr if q == 1 else _mul(constant(_rat(q)), expr)


def _times(*factors) -> sp.Expr:
    """A product without its factors that are identically 1 (an identity's derivative,
    ∂z/∂b): the symbolic form does not print them; the chain form keeps its ∂z/∂b."""
    kept = [f for f in factors if f != 1]
    return _mul(*kept) if kept else sp.Integer(1)


# Output layer and loss pairs whose δ = ∂L/∂z collapses to (ŷ − y), scaled as the loss
# averages: the form courses teach, after the chain rule's line that shows where it comes from.
CANCELLING = {("softmax", "cross_entropy"), ("sigmoid", "bce")}


def sample_suffix(spec: Spec, s: int) -> str:
    return f"_s{s}" if len(spec.x) > 1 else ""


def loss_scale(spec: Spec) -> Fraction:
    """The factor in front of the sum of per-element losses."""
    n, k = len(spec.x), spec.layers[-1].units
    if spec.reduction == "sum":
        return Fraction(1)
    # mse and bce average over every element, as PyTorch's MSELoss and BCELoss;
    # the others over samples.
    return Fraction(1, n * k) if spec.loss in ("mse", "bce") else Fraction(1, n)


def derive(spec: Spec) -> Derivation:
    units = tuple(layer.units for layer in spec.layers)
    S = Symbols(spec.inputs, units, units[-1], len(spec.x))
    depth, samples = len(units), range(1, len(spec.x) + 1)
    fan_in = (spec.inputs,) + units

    def activation(l: int, i: int, s: int) -> sp.Expr:
        kind, z = spec.layers[l - 1].activation, S.z(l, i, s)
        if kind == "identity":
            return z
        if kind == "softmax":
            total = _add(*(sp.exp(S.z(l, k, s), evaluate=False) for k in range(1, units[l - 1] + 1)))
            return _mul(sp.exp(z, evaluate=False), sp.Pow(total, -1, evaluate=False))
        return ACTIVATION_FN[kind](z)

    def derivative(l: int, i: int, s: int) -> sp.Expr:
        """∂a/∂z of an elementwise activation, as a hand calculation writes it."""
        kind, z, a = spec.layers[l - 1].activation, S.z(l, i, s), S.a(l, i, s)
        if kind == "identity":
            return sp.Integer(1)
        if kind == "sigmoid":
            return _mul(a, _add(sp.Integer(1), _neg(a)))
        if kind == "tanh":
            return _add(sp.Integer(1), _neg(sp.Pow(a, 2, evaluate=False)))
        return DERIVATIVE_FN[kind](z)

    def softmax_derivative(l: int, k: int, i: int, s: int) -> sp.Expr:
        """∂a_k/∂z_i of a softmax layer: a_k(1 − a_i) when k = i, else −a_k·a_i."""
        ak, ai = S.a(l, k, s), S.a(l, i, s)
        return _mul(ak, _add(sp.Integer(1), _neg(ai))) if k == i else _neg(_mul(ak, ai))

    forward = []
    for s in samples:
        sfx = sample_suffix(spec, s)
        for l in range(1, depth + 1):
            for i in range(1, units[l - 1] + 1):
                terms = [_mul(S.w(l, i, j), S.a(l - 1, j, s)) for j in range(1, fan_in[l - 1] + 1)]
                if spec.layers[l - 1].bias:
                    terms.append(S.b(l, i))
                forward.append(Equation(f"z{l}_{i}{sfx}", S.z(l, i, s), _add(*terms),
                                        kind="z", layer=l, unit=i, sample=s))
            for i in range(1, units[l - 1] + 1):
                forward.append(Equation(f"a{l}_{i}{sfx}", S.a(l, i, s), activation(l, i, s),
                                        kind="a", layer=l, unit=i, sample=s))

    scale = loss_scale(spec)
    outputs = range(1, units[-1] + 1)
    L = S.loss()
    diff = {(k, s): _add(S.yhat(k, s), _neg(S.y(k, s))) for s in samples for k in outputs}
    if spec.loss in ("half_sse", "sse", "mse"):
        square_sum = _add(*(sp.Pow(diff[k, s], 2, evaluate=False) for s in samples for k in outputs))
        front = scale / 2 if spec.loss == "half_sse" else scale
        loss_expr = _scaled(front, square_sum)
    elif spec.loss == "bce":
        terms = [
            _add(
                _mul(S.y(k, s), sp.log(S.yhat(k, s), evaluate=False)),
                _mul(_add(sp.Integer(1), _neg(S.y(k, s))),
                     sp.log(_add(sp.Integer(1), _neg(S.yhat(k, s))), evaluate=False)),
            )
            for s in samples for k in outputs
        ]
        loss_expr = _neg(_scaled(scale, _add(*terms)))
    else:  # cross_entropy
        terms = [_mul(S.y(k, s), sp.log(S.yhat(k, s), evaluate=False)) for s in samples for k in outputs]
        loss_expr = _neg(_scaled(scale, _add(*terms)))
    loss = Equation("L", L, loss_expr, kind="loss")

    output_grads = []
    for s in samples:
        for k in outputs:
            yh, y = S.yhat(k, s), S.y(k, s)
            if spec.loss == "half_sse":
                expr = _scaled(scale, diff[k, s])
            elif spec.loss in ("sse", "mse"):
                expr = _scaled(2 * scale, diff[k, s])
            elif spec.loss == "bce":
                expr = _scaled(scale, _add(
                    _neg(_mul(y, sp.Pow(yh, -1, evaluate=False))),
                    _mul(_add(sp.Integer(1), _neg(y)),
                         sp.Pow(_add(sp.Integer(1), _neg(yh)), -1, evaluate=False)),
                ))
            else:
                expr = _neg(_scaled(scale, _mul(y, sp.Pow(yh, -1, evaluate=False))))
            output_grads.append(Equation(f"dL_dyhat{k}{sample_suffix(spec, s)}", S.partial(L, yh), expr,
                                         kind="dyhat", layer=depth, unit=k, sample=s))
    grad_of_yhat = {(eq.lhs, s): eq.symbolic for eq, s in
                    zip(output_grads, [s for s in samples for _ in outputs])}

    def cancelled_delta(i: int, s: int) -> tuple[sp.Expr, str]:
        """δ of output i in its taught form. Softmax with cross-entropy: Σₖ ∂L/∂ŷₖ·∂ŷₖ/∂zᵢ
        = ŷᵢ·Σₖ yₖ − yᵢ, which is ŷᵢ − yᵢ where the sample's targets sum to 1 (the spec's
        y are fixed, so the form holds for every step). Sigmoid with binary cross-entropy:
        (−y/ŷ + (1 − y)/(1 − ŷ))·ŷ(1 − ŷ) = ŷ − y."""
        yh, y = S.yhat(i, s), S.y(i, s)
        if spec.loss == "bce":
            return _scaled(scale, diff[i, s]), "ŷ(1 − ŷ) cancels the denominators of ∂L/∂ŷ"
        targets = spec.y[s - 1]
        if sum(targets) == 1:
            return _scaled(scale, diff[i, s]), "the softmax terms add up to ŷᵢ − yᵢ, as Σₖ yₖ = 1"
        total = _add(*(S.y(k, s) for k in outputs))
        return (_scaled(scale, _add(_mul(yh, total), _neg(y))),
                "the softmax terms add up to ŷᵢ·Σₖ yₖ − yᵢ (these targets do not sum to 1)")

    deltas = []
    for s in samples:
        for l in range(depth, 0, -1):
            soft = spec.layers[l - 1].activation == "softmax"
            for i in range(1, units[l - 1] + 1):
                z = S.z(l, i, s)
                note = ""
                if l == depth:
                    ks = list(outputs) if soft else [i]
                    chain_terms, sym_terms = [], []
                    for k in ks:
                        yh = S.yhat(k, s)
                        d = softmax_derivative(l, k, i, s) if soft else derivative(l, i, s)
                        chain_terms.append(_mul(S.partial(L, yh), S.partial(yh, z)))
                        sym_terms.append(_times(grad_of_yhat[S.partial(L, yh), s], d))
                    chain, sym = _add(*chain_terms), _add(*sym_terms)
                    if (spec.layers[-1].activation, spec.loss) in CANCELLING:
                        sym, note = cancelled_delta(i, s)
                else:
                    a = S.a(l, i, s)
                    ks = range(1, units[l] + 1)
                    upstream = _add(*(_mul(S.partial(L, S.z(l + 1, k, s)), S.partial(S.z(l + 1, k, s), a))
                                      for k in ks))
                    chain = _mul(upstream, S.partial(a, z))
                    sym = _times(_add(*(_mul(S.delta(l + 1, k, s), S.w(l + 1, k, i)) for k in ks)),
                                 derivative(l, i, s))
                deltas.append(Equation(f"delta{l}_{i}{sample_suffix(spec, s)}", S.delta(l, i, s), sym, chain,
                                       kind="delta", layer=l, unit=i, sample=s, note=note))

    # Every layer's gradient from its own δ, as backpropagation writes it: ∂L/∂w⁽ˡ⁾ᵢⱼ = δ⁽ˡ⁾ᵢ·a⁽ˡ⁻¹⁾ⱼ
    # and ∂L/∂b⁽ˡ⁾ᵢ = δ⁽ˡ⁾ᵢ, summed over the samples; δ is a box the student has just filled.
    grads = []
    for l in range(1, depth + 1):
        layer = spec.layers[l - 1]
        trainable_w = f"W{l}" not in spec.frozen
        trainable_b = layer.bias and f"b{l}" not in spec.frozen
        for i in range(1, units[l - 1] + 1):
            if trainable_w:
                for j in range(1, fan_in[l - 1] + 1):
                    w = S.w(l, i, j)
                    chain = _add(*(_mul(S.partial(L, S.z(l, i, s)), S.partial(S.z(l, i, s), w)) for s in samples))
                    sym = _add(*(_mul(S.delta(l, i, s), S.a(l - 1, j, s)) for s in samples))
                    grads.append(Equation(f"dW{l}_{i}_{j}", S.partial(L, w), sym, chain, (f"W{l}", l, (i, j)),
                                          kind="grad", layer=l, unit=i))
        if trainable_b:
            for i in range(1, units[l - 1] + 1):
                b = S.b(l, i)
                chain = _add(*(_mul(S.partial(L, S.z(l, i, s)), S.partial(S.z(l, i, s), b)) for s in samples))
                sym = _add(*(S.delta(l, i, s) for s in samples))
                grads.append(Equation(f"db{l}_{i}", S.partial(L, b), sym, chain, (f"b{l}", l, (i,)),
                                      kind="grad", layer=l, unit=i))
    # output layer first, as backpropagation reaches them; W before b (a stable sort)
    grads.sort(key=lambda eq: (-eq.param[1], eq.param[0][0] == "b"))

    return Derivation(S, tuple(forward), loss, tuple(output_grads), tuple(deltas), tuple(grads), scale)

