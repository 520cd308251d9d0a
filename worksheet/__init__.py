"""worksheet: the hand calculation of a small neural network, step by step.

The pipeline, one module per stage: `spec` (TOML text -> Spec), `derive`
(Spec -> symbolic Derivation), `solve` (Spec -> Solution, every step's
numbers), then `report` (terminal), `export` (JSON), `trace` (float32, the
homework's printout), `script` (a PyTorch script) and `verify` (PyTorch autograd).
"""

from .solve import Solution, solve
from .spec import Spec, SpecError, builtin_text, parse_spec

__all__ = ["Solution", "Spec", "SpecError", "builtin_text", "parse_spec", "solve"]
