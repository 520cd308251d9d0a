"""Times whole processes side by side, in one run, and prints ratios.

    python bench/benchmark.py [--repeats N]

1. `worksheet solve` on the built-in problem against the homework's own
   PyTorch script, each a cold process. The homework's script is cut out of
   the assignment where it lies beside the repository
   (../shared/seed/hw2-1-assignment.txt); elsewhere the script
   `worksheet torch-script` writes stands in, which prints the same.
2. `worksheet solve` as networks grow: hidden width 1..8 at depth 3, ReLU
   (exact fractions) and sigmoid (30 digits); the number of parameters grows
   as width², the number of input-to-output paths as width³.
3. In-process `solve()` alone (no start-up), width 6 and 2..5 hidden layers:
   parameters grow by 42 a layer, paths sixfold.
4. Rendering: the built-in problem's HTML and PDF (`worksheet` with no
   arguments) against the homework's script; then `worksheet render` as the
   network grows (width 1..4, ReLU) and as the steps grow (1..5); and the
   built-in render's stages in-process, to see where the time goes.
7. With `--class` (alone, or beside the rest): `worksheet class` for a class of
   20 students of examples/class-variants.toml (a key and a fillable sheet
   each: 40 PDFs), with --jobs 1 and --jobs 2, as a ratio to the homework's
   script; and the 100-student class extrapolated from --jobs 2.
6. With `--worst` (not run by default: a few minutes): the largest problems
   inside the spec's limits, one cold `worksheet solve` and `worksheet render`
   (HTML + PDF) each, with the pages of the PDF; every render must stay under
   a minute, the bound MAX_QUANTITIES (samples x steps x parameters) is set
   from. `python bench/benchmark.py --worst --repeats 1 --skip-growth`.
With `--render`: only the rendering (sections 1 and 5), and the PDF stage's
profile (cProfile around `to_pdf`, the 15 costliest functions by their own
time) and its page count, which is what issue 9 measured; then what each part
of the key (the network, the derivation, each step, the check, the script
page) costs the PDF stage, as the CPU time saved by leaving it out.
Runs are interleaved round-robin and the median is taken, because the machine
is shared and noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT.parent / "shared" / "seed" / "hw2-1-assignment.txt"


def homework_script(worksheet: str) -> tuple[str, str]:
    """The homework's PyTorch script and what it is: its own where the assignment
    is at hand, else the one `worksheet torch-script` writes, which prints the same."""
    if ASSIGNMENT.exists():
        cells = re.findall(r"In \[\d+\]:\s*```\n(.*?)```", ASSIGNMENT.read_text(), re.S)
        return "\n".join(cells), "homework PyTorch script"
    script = subprocess.run([worksheet, "torch-script"], capture_output=True, text=True, check=True).stdout
    return script, "torch-script (homework's)"


def grown_spec(width: int, activation: str, hidden: int = 2) -> str:
    layers = ", ".join(f'{{ units = {width}, activation = "{activation}" }}' for _ in range(hidden))
    return f"""[network]
inputs = 2
layers = [{layers}, {{ units = 1, activation = "identity" }}]
[init]
weight = 0.1
bias = -0.05
[data]
x = [1, 0.5]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.01
steps = 2
"""


def time_round_robin(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"{name} failed: {proc.stderr.decode()[-500:]}")
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-growth", action="store_true", help="only section 1 and the in-process parts")
    parser.add_argument("--worst", action="store_true", help="also time the largest problems inside the limits")
    parser.add_argument("--render", action="store_true", help="only the rendering: sections 1 and 5, and a profile")
    parser.add_argument("--class", dest="class_set", action="store_true",
                        help="only section 1 and a class set of 20 students, --jobs 1 and 2 (section 7)")
    args = parser.parse_args()
    worksheet = shutil.which("worksheet") or sys.exit("install the package first: worksheet is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        script, baseline = homework_script(worksheet)
        homework = Path(tmp) / "homework.py"
        homework.write_text(script)
        out = str(Path(tmp) / "out")
        first = time_round_robin({
            baseline: [sys.executable, str(homework)],
            "worksheet solve": [worksheet, "solve"],
            "worksheet solve --json": [worksheet, "solve", "--json"],
            "worksheet (HTML + PDF)": [worksheet, "render", "-o", out],
            "worksheet render, HTML": [worksheet, "render", "-o", out, "--format", "html"],
        }, args.repeats)
        base = first[baseline]
        print(f"Python {sys.version.split()[0]} at {sys.executable}\n")
        print(f"1. The built-in problem, cold processes, median of {args.repeats}")
        for name, t in first.items():
            print(f"   {name:<24} {t:6.2f} s   {t / base:5.2f} x the homework's script")
        if args.render:
            render_stages(args.repeats, profile=True)
            return
        if args.class_set:
            class_set(worksheet, Path(tmp), base, baseline, min(args.repeats, 2))
            return

        commands, shapes = {}, {}
        for activation in ("relu", "sigmoid"):
            for width in (1, 2, 4, 8):
                path = Path(tmp) / f"{activation}-{width}.toml"
                path.write_text(grown_spec(width, activation))
                name = f"{activation} 2-{width}-{width}-1"
                commands[name] = [worksheet, "solve", "--json", str(path)]
                params = width * 3 + width * (width + 1) + width + 1
                shapes[name] = (params, 2 * width * width)
        grown = time_round_robin(commands, args.repeats) if not args.skip_growth else {}
        if grown:
            print(f"\n2. Growing networks, `worksheet solve --json`, 2 steps, median of {args.repeats}")
            print(f"   {'network':<22} {'params':>6} {'paths':>6} {'time':>7} {'vs width 1':>10}")
        for activation in ("relu", "sigmoid") if grown else ():
            small = grown[f"{activation} 2-1-1-1"]
            for name, t in grown.items():
                if name.startswith(activation):
                    p, paths = shapes[name]
                    print(f"   {name:<22} {p:>6} {paths:>6} {t:6.2f}s {t / small:9.2f}x")
        if not args.skip_growth:
            render_growth(worksheet, Path(tmp), args.repeats)
    in_process(args.repeats)
    render_stages(args.repeats)
    if args.worst:
        with tempfile.TemporaryDirectory() as tmp:
            worst_cases(worksheet, Path(tmp), args.repeats)


def render_growth(worksheet: str, tmp: Path, repeats: int) -> None:
    commands, info = {}, {}
    for width in (1, 2, 4):
        path = tmp / f"render-{width}.toml"
        path.write_text(grown_spec(width, "relu"))
        name = f"2-{width}-{width}-1, 2 steps"
        commands[name] = [worksheet, "render", "-o", str(tmp / "grown"), str(path)]
        info[name] = width * 3 + width * (width + 1) + width + 1
    for steps in (1, 3, 5):
        path = tmp / f"steps-{steps}.toml"
        path.write_text(grown_spec(2, "relu").replace("steps = 2", f"steps = {steps}"))
        name = f"2-2-2-1, {steps} step{'s' if steps > 1 else ''}"
        commands[name] = [worksheet, "render", "-o", str(tmp / "grown"), str(path)]
        info[name] = 13
    times = time_round_robin(commands, repeats)
    base = times["2-1-1-1, 2 steps"]
    print(f"\n4. `worksheet render` (HTML + PDF) as the network and the steps grow, median of {repeats}")
    print(f"   {'network':<22} {'params':>6} {'time':>7} {'vs 2-1-1-1':>10}")
    for name, t in times.items():
        print(f"   {name:<22} {info[name]:>6} {t:6.2f}s {t / base:9.2f}x")


def render_stages(repeats: int, profile: bool = False) -> None:
    from worksheet import parse_spec, solve
    from worksheet.document import Options, build
    from worksheet.pdf import to_pdf
    from worksheet.render import to_html
    from worksheet.script import torch_script
    from worksheet.spec import builtin_text
    from worksheet.trace import run

    spec = parse_spec(builtin_text())
    to_pdf("<p>warm</p>")  # WeasyPrint loads its fonts once per process
    stages: dict[str, list[float]] = {"solve + trace": [], "document": [], "HTML": [], "PDF": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol, snaps = solve(spec), run(spec, 10)
        t1 = time.perf_counter()
        doc = build(sol, snaps, Options(), torch_script=torch_script(spec, 10))  # the key as `worksheet` writes it
        t2 = time.perf_counter()
        html = to_html(doc)
        t3 = time.perf_counter()
        to_pdf(html)
        t4 = time.perf_counter()
        for name, t in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[name].append(t)
    print(f"\n5. The built-in render's stages in-process (no start-up), best of {repeats}")
    for name, ts in stages.items():
        print(f"   {name:<16} {min(ts):7.3f}s")
    if profile:
        import cProfile
        import io
        import pstats

        from pypdf import PdfReader

        profiler = cProfile.Profile()
        pdf = profiler.runcall(to_pdf, html)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"\n   the key with its script: {pages} pages, {html.count('<')} tags; "
              f"PDF stage under cProfile: {stats.total_calls} calls")
        print("\n".join("   " + line for line in out.getvalue().splitlines() if line.strip()))
        part_costs(html, repeats, to_pdf)


def part_costs(html: str, repeats: int, to_pdf) -> None:
    """What each part of the key costs the PDF stage: the key rendered without it, in CPU time (less noisy than
    the wall clock on a shared machine), best of `repeats`, interleaved with the whole key."""
    parts = {}
    for m in re.finditer(r"<section[^>]*>.*?</section>", html, re.S):
        title = re.search(r"<h2>(.*?)</h2>", m.group(0), re.S)
        parts[title.group(1) if title else "section"] = (m.start(), m.end())
        script = m.group(0).find('<div class="scriptpage"')
        if script >= 0:  # the script page closes the last section: left out, the section still ends
            parts["The PyTorch script"] = (m.start() + script, m.end() - len("</section>"))
    times: dict[str, list[float]] = {name: [] for name in ["the whole key", *parts]}
    for _ in range(repeats):
        for name in times:
            page = html if name not in parts else html[:parts[name][0]] + html[parts[name][1]:]
            start = time.process_time()
            to_pdf(page)
            times[name].append(time.process_time() - start)
    whole = min(times.pop("the whole key"))
    print(f"\n   what each part costs the PDF stage (CPU time of the key without it, best of {repeats}): "
          f"whole key {whole:.2f} s")
    for name, ts in times.items():
        print(f"   {name:<34} {whole - min(ts):6.2f} s")


def class_set(worksheet: str, tmp: Path, base: float, baseline: str, repeats: int, students: int = 20) -> None:
    """`worksheet class` over a roster of `students`, each run from an empty directory (--force would too)."""
    roster = tmp / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"s{n:03},Student {n}\n" for n in range(students)))
    spec = str(ROOT / "examples" / "class-variants.toml")
    times: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(repeats):
        for jobs in times:
            out = tmp / f"class-{jobs}-{round_}"
            start = time.perf_counter()
            proc = subprocess.run([worksheet, "class", spec, "--roster", str(roster), "-o", str(out),
                                   "--jobs", str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times[jobs].append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"worksheet class failed: {proc.stderr.decode()[-500:]}")
    best = {jobs: statistics.median(t) for jobs, t in times.items()}
    print(f"\n7. `worksheet class`, {students} students of class-variants.toml (key + sheet each, "
          f"{2 * students} PDFs), cold, median of {repeats}")
    for jobs, t in best.items():
        print(f"   --jobs {jobs}   {t:6.1f} s   {t / students:5.2f} s a student   {t / base:6.1f} x {baseline}")
    print(f"   --jobs 2 is {best[1] / best[2]:.2f} x as fast as --jobs 1; 100 students at --jobs 2: "
          f"about {best[2] * 100 / students:.0f} s (the target is 60 s)")


def in_process(repeats: int) -> None:
    from worksheet import parse_spec, solve

    print(f"\n3. In-process solve(), 2 steps, width 6, best of {repeats}")
    print(f"   {'network':<26} {'params':>6} {'paths':>7} {'time':>8} {'per param':>10}")
    for activation in ("relu", "sigmoid"):
        for hidden in (2, 3, 4, 5):
            spec = parse_spec(grown_spec(6, activation, hidden))
            best = min(_timed(solve, spec) for _ in range(repeats))
            params = sum(layer.units * (n + layer.bias) for layer, n in
                         zip(spec.layers, [spec.inputs] + [layer.units for layer in spec.layers]))
            paths = 2 * 6 ** hidden
            name = f"{activation} 2-" + "-".join(["6"] * hidden) + "-1"
            print(f"   {name:<26} {params:>6} {paths:>7} {best:7.3f}s {1000 * best / params:8.2f}ms")


def limit_spec(inputs: int, hidden: list[int], activation: str, samples: int, steps: int,
               weight: str = "0.1", bias: str = "-0.05") -> str:
    """A problem at the size limits: `samples` samples of a regression, half_sse (mse for a batch)."""
    layers = ", ".join(f'{{ units = {u}, activation = "{activation}" }}' for u in hidden)
    xs = [[round(0.1 * (s + 1) + 0.05 * j, 2) for j in range(inputs)] for s in range(samples)]
    ys = [[round(0.5 + 0.01 * s, 2)] for s in range(samples)]
    x, y = (str(xs[0]), str(ys[0])) if samples == 1 else (str(xs), str(ys))
    return f"""[network]
inputs = {inputs}
layers = [{layers}, {{ units = 1, activation = "identity" }}]
[init]
weight = {weight}
bias = {bias}
[data]
x = {x}
y = {y}
[training]
loss = "{'half_sse' if samples == 1 else 'mse'}"
learning_rate = 0.01
steps = {steps}
"""


# The largest problems inside the limits, measured 2026-11-29 on the 2-core machine (render HTML + PDF):
# 16 samples were the costliest per quantity (~0.35 pages each, ~0.25 s a page).
WORST = {
    "sigmoid 2-4-3-1, 16 samples, 1 step": (2, [4, 3], "sigmoid", 16, 1, "0.1", "-0.05"),
    "tanh 2-2-2-1, 16 samples, 2 steps": (2, [2, 2], "tanh", 16, 2, "0.1", "-0.05"),
    "sigmoid 8-8-8-5-1, 1 sample, 2 steps": (8, [8, 8, 5], "sigmoid", 1, 2, "0.1", "-0.05"),
    "relu 2-8-7-1, 5 steps, growing fractions": (2, [8, 7], "relu", 1, 5, "0.37", "0.21"),
}


def worst_cases(worksheet: str, tmp: Path, repeats: int) -> None:
    from pypdf import PdfReader

    from worksheet import parse_spec

    print(f"\n6. The largest problems inside the limits, cold processes, median of {repeats}")
    print(f"   {'problem':<42} {'quantities':>10} {'solve':>7} {'render':>7} {'pages':>6}")
    for name, args in WORST.items():
        path = tmp / "worst.toml"
        path.write_text(limit_spec(*args))
        spec = parse_spec(path.read_text())
        params = sum(len(W) * len(W[0]) + (len(b) if b else 0) for W, b in zip(spec.weights, spec.biases))
        times = time_round_robin({"solve": [worksheet, "solve", str(path)],
                                  "render": [worksheet, "render", "-o", str(tmp / "out"), str(path)]}, repeats)
        pages = len(PdfReader(tmp / "out" / "worst.pdf").pages)
        print(f"   {name:<42} {len(spec.x) * spec.steps * params:>10} {times['solve']:6.2f}s "
              f"{times['render']:6.1f}s {pages:>6}")


def _timed(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
