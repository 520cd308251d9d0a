"""`trace` and `torch-script` against PyTorch's own printing and running."""

import re
import subprocess
import sys

import numpy as np
import torch
from conftest import PROBLEMS, assignment_text, load
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from worksheet.script import torch_script
from worksheet.trace import format_tensor, format_trace, run

finite32 = st.floats(-1e9, 1e9, width=32, allow_nan=False, allow_infinity=False)
small32 = st.one_of(finite32, st.sampled_from([0.0, 1.0, -0.5, 2.0, 1e-5, 3.25]))


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=2, max_side=9), elements=small32),
       st.sampled_from([None, "requires_grad=True", "grad_fn=<AddBackward0>"]))
def test_tensor_printing_is_pytorchs(values, suffix):
    t = torch.tensor(values)
    if suffix == "requires_grad=True":
        expected = str(torch.nn.Parameter(t)).removeprefix("Parameter containing:\n")
    elif suffix:
        expected = str(t.requires_grad_() * 1).replace("MulBackward0", "AddBackward0")  # keeps -0.
    else:
        expected = str(t)
    assert format_tensor(values, suffix) == expected


def run_python(source: str, tmp_path) -> str:
    path = tmp_path / "script.py"
    path.write_text(source)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_homeworks_own_script_prints_what_trace_prints(tmp_path):
    cells = re.findall(r"In \[\d+\]:\s*```\n(.*?)```", assignment_text(), re.S)
    printed = run_python("\n".join(cells), tmp_path)
    spec = load("builtin")
    assert printed == format_trace(spec, run(spec, 10))
    # the homework's printout came from a 2022 PyTorch: same numbers, older grad_fn name
    assert "ViewBackward0" in printed and "ViewBackward0" not in assignment_text()


def test_generated_scripts_print_what_trace_prints(tmp_path):
    for name in PROBLEMS:
        spec = load(name)
        printed = run_python(torch_script(spec, 3), tmp_path)
        assert printed == format_trace(spec, run(spec, 3)), name


def test_the_scripts_model_is_one_module_a_line_at_a_short_indent():
    """The key prints the script in a column of about 54 characters: a module aligned under
    "OrderedDict([" (36 spaces, the homework's layout) left a softmax's 18 characters a line. Each
    module of the network is a line of its own, 4 spaces in."""
    for name in PROBLEMS:
        script = torch_script(load(name), 3)
        model = script[script.index("model = nn.Sequential"):].split("\n\n")[0].splitlines()
        assert model[0] == "model = nn.Sequential(OrderedDict([" and model[-1] == "]))", name
        assert all(re.fullmatch(r'    \("[A-Za-z]+\d+", nn\.\w+\(.*\)\),?', line) for line in model[1:-1]), name
        assert len(model) == 2 + len(load(name).layers) + sum(layer.activation != "identity"
                                                               for layer in load(name).layers), name
