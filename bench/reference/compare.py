#!/usr/bin/python3
"""Side by side with the Python reference (issue 8, section 1).

Runs our C++ attacks (bench_reference) and the Python reference (run.py, same
architectures, same weights, same inputs, same hyperparameters, same LibTorch
1.13 underneath) on the same inputs at batch sizes 1, 32 and 256 with the
same torch thread count, and prints attacked samples per second of each side
and the ratio ours / Python.

Steps: (1) `bench_reference export` writes the victims' parameters, the inputs
(Fashion-MNIST test images; test scenes as data/scenes.cpp makes them) and our
reference outputs to WORK; (2) `run.py check` shows that the Python models
give the same outputs (allclose); (3) each (family, batch) is timed REPEATS
times per side, alternating C++ and Python, each run in its own process after
an untimed warm-up call; the table shows each side's best run.

Rates: "samples/s" is attacked samples per second at the catalog's iteration
count (DeepSloth L-inf 30, NICGSlowDown 100): sample-iterations per second
divided by that count, so rows that run fewer iterations (to keep the whole
comparison to a few minutes) stay comparable. NICGSlowDown's work depends on
how long the captions get; both sides count it as sample decoder steps (B x
the greedy steps the batch ran, summed over the iterations) and the "per
step" ratio compares rates per unit of that work.

Needs: the bench built (ninja -C BUILD bench_reference) and the two trained
victims (see --sdn, --captioner; --train trains missing ones with
BUILD/effrobust train). Use Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_ITERATIONS = {"deepsloth": 30, "nicg": 100}
# (iterations, timed calls) per family and batch size: a few seconds per row and side
# on a 2-core machine at 1 thread.
PLAN = {
    "deepsloth": {1: (30, 16), 32: (30, 2), 256: (30, 1)},
    "nicg": {1: (20, 4), 32: (5, 1), 256: (2, 1)},
}
TRAIN = {
    "sdn": ["train", "--if-missing"],
    "captioner": ["train", "--arch", "captioner", "--cell", "lstm", "--name", "captioner-lstm",
                  "--if-missing"],
}


def machine(threads):
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            model = m.group(1).strip() if m else model
    except OSError:
        pass
    torch = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libtorch1.13"],
                           capture_output=True, text=True).stdout or "?"
    return (f"{model}, {os.cpu_count()} cores, {threads} torch thread(s) per side; "
            f"{platform.system()} {platform.release()}, LibTorch {torch} (Debian) on both sides; "
            f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC")


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"compare.py: command failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def result(text):
    line = next((l for l in text.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit("compare.py: no RESULT line in:\n" + text)
    return {k: v for k, v in (kv.split("=", 1) for kv in line.split()[1:])}


def rates(r, family):
    seconds = float(r["seconds"])
    sample_its = int(r["samples"]) * int(r["iterations"])
    return sample_its / seconds / DEFAULT_ITERATIONS[family], float(r["work"]) / seconds


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"),
                   help="build directory with bench/bench_reference (default ROOT/build)")
    p.add_argument("--sdn", default=os.path.join(ROOT, "runs/models/sdn-fmnist.pt"),
                   help="multi-exit CNN checkpoint (default runs/models/sdn-fmnist.pt)")
    p.add_argument("--captioner", default=os.path.join(ROOT, "runs/models/captioner-lstm.pt"),
                   help="captioner checkpoint (default runs/models/captioner-lstm.pt)")
    p.add_argument("--work", default=None,
                   help="where the exported models and inputs go (default BUILD/bench-reference)")
    p.add_argument("--threads", type=int, default=1, help="torch threads on both sides (default 1)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs per side and row, best kept (default 3)")
    p.add_argument("--bench", default=None,
                   help="our bench binary (default BUILD/bench/bench_reference)")
    p.add_argument("--batches", default="1,32,256", help="batch sizes (default 1,32,256)")
    p.add_argument("--families", default="deepsloth,nicg",
                   help="deepsloth and/or nicg (default both)")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="interpreter with python3-torch (default /usr/bin/python3)")
    p.add_argument("--train", action="store_true",
                   help="train a missing checkpoint with BUILD/effrobust train (minutes)")
    p.add_argument("--skip-check", action="store_true", help="do not run the parity check")
    args = p.parse_args()
    work = args.work or os.path.join(args.build, "bench-reference")
    bench = args.bench or os.path.join(args.build, "bench", "bench_reference")
    effrobust = os.path.join(args.build, "effrobust")

    missing = []
    if not os.path.exists(bench):
        missing.append(f"{bench} (build it: ninja -C {args.build} bench_reference)")
    for key, path in (("sdn", args.sdn), ("captioner", args.captioner)):
        if os.path.exists(path):
            continue
        cmd = [effrobust] + TRAIN[key] + ["--out", path]
        if args.train and os.path.exists(effrobust):
            run(cmd)
        else:
            missing.append(f"{path} (train it: {' '.join(cmd)}, or pass --train)")
    if missing:
        sys.exit("compare.py: missing:\n  " + "\n  ".join(missing))

    families = [f for f in args.families.split(",") if f]
    batches = [int(b) for b in args.batches.split(",") if b]
    for f in families:
        if f not in PLAN:
            sys.exit(f"compare.py: unknown family '{f}' (deepsloth, nicg)")
    os.makedirs(work, exist_ok=True)
    print(run([bench, "export", "--sdn", args.sdn, "--captioner", args.captioner, "--out", work,
               "--samples", str(max(256, max(batches)))]), end="")
    if not args.skip_check:
        print(run([args.python, os.path.join(HERE, "run.py"), "check", "--data", work]), end="")

    rows = []
    for family in families:
        for b in batches:
            its, calls = PLAN[family].get(b, (DEFAULT_ITERATIONS[family], 1))
            common = ["--family", family, "--data", work, "--batch", str(b), "--calls", str(calls),
                      "--iterations", str(its), "--threads", str(args.threads)]
            model = args.sdn if family == "deepsloth" else args.captioner
            ours, ref = [], []
            for _ in range(max(1, args.repeats)):
                ours.append(result(run([bench, "time", "--model", model] + common)))
                ref.append(result(run([args.python, os.path.join(HERE, "run.py"), "time"] +
                                      common)))
            best = lambda runs: min(runs, key=lambda r: float(r["seconds"]))  # noqa: E731
            rows.append((family, b, its, calls, best(ours), best(ref)))

    print()
    print("Machine: " + machine(args.threads) + f"; best of {args.repeats} runs per side")
    print("samples/s: attacked samples per second at the catalog's iteration count "
          "(DeepSloth L-inf 30, NICGSlowDown L2 100); rows with fewer iterations are "
          "normalised via sample-iterations/s.")
    print("work/s: DeepSloth sample-iterations/s; NICGSlowDown sample decoder steps/s.")
    print()
    header = ("| family | batch | iterations x calls | ours samples/s | Python samples/s | ratio "
              "| ours work/s | Python work/s | ratio per unit of work |")
    print(header)
    print("|" + "---|" * 9)
    worst, worst_b1 = None, None
    for family, b, its, calls, ours, ref in rows:
        o_s, o_w = rates(ours, family)
        p_s, p_w = rates(ref, family)
        ratio = o_s / p_s
        name = "DeepSloth L-inf" if family == "deepsloth" else "NICGSlowDown L2"
        print(f"| {name} | {b} | {its} x {calls} | {o_s:.3g} | {p_s:.3g} | {ratio:.2f} "
              f"| {o_w:.0f} | {p_w:.0f} | {o_w / p_w:.2f} |")
        worst = ratio if worst is None else min(worst, ratio)
        if b == 1:
            worst_b1 = ratio if worst_b1 is None else min(worst_b1, ratio)
    print()
    if worst is not None:
        print(f"target never slower than Python: {'met' if worst >= 1 else 'MISSED'} "
              f"(lowest ratio {worst:.2f})")
    if worst_b1 is not None:
        print(f"target >= 1.5x at batch 1: {'met' if worst_b1 >= 1.5 else 'MISSED'} "
              f"(lowest batch-1 ratio {worst_b1:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
