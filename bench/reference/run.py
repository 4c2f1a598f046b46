#!/usr/bin/python3
"""The Python side of the side-by-side comparison (issue 8, section 1).

  check: loads the victims and inputs that `bench_reference export` wrote to DIR
         and prints how close this reference's forward outputs, losses, input
         gradients and short attacks come to our C++ outputs stored there.
  time:  attacks the exported inputs like `bench_reference time` and prints one
         "RESULT side=python ..." line.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13): the same
LibTorch underneath as our C++ build. Driver: compare.py.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepsloth import deepsloth_linf, deepsloth_loss  # noqa: E402
from models import load_captioner, load_multi_exit  # noqa: E402
from nicg_slowdown import MAX_LEN, nicg_loss, nicg_slowdown  # noqa: E402


def batch_start(c, b, n):
    """Start of call c's batch of b among n inputs (as bench_reference)."""
    start = (c * b) % n
    return 0 if start + b > n else start


def report(name, ours, ref, atol):
    diff = (ours.double() - ref.double()).abs().max().item()
    ok = torch.allclose(ours.double(), ref.double(), rtol=1e-4, atol=atol)
    print(f"  {name:<38} max |python - cpp| = {diff:.3g}  {'allclose' if ok else 'DIFFERENT'}"
          f" (atol {atol:g})")
    return ok


def check(args):
    torch.set_num_threads(args.threads)
    ok = True
    d = torch.load(os.path.join(args.data, "sdn.pt"))
    model = load_multi_exit(d)
    n = d["check.exit_logits"].size(1)
    x = d["inputs.images"][:n]
    print(f"multi-exit CNN (DeepSloth), first {n} test images:")
    with torch.no_grad():
        ok &= report("exit logits", torch.stack(model(x)), d["check.exit_logits"], 1e-5)
    leaf = x.clone().requires_grad_(True)
    loss = deepsloth_loss(model(leaf))
    grad, = torch.autograd.grad(loss, leaf)
    ok &= report("DeepSloth loss", loss.detach(), d["check.loss"], 1e-4)
    ok &= report("input gradient of the loss", grad, d["check.grad"], 1e-6)
    adv = deepsloth_linf(model, x, list(range(n)))
    same = (adv == d["check.attack"]).double().mean().item()
    print(f"  DeepSloth L-inf 30 iterations: {100 * same:.2f} % of pixels equal")
    ok &= report("DeepSloth L-inf result", adv, d["check.attack"], 0.05)

    d = torch.load(os.path.join(args.data, "captioner.pt"))
    model = load_captioner(d)
    n = d["check.greedy_steps"].size(0)
    x = d["inputs.images"][:n]
    print(f"captioner (NICGSlowDown), first {n} test scenes:")
    leaf = x.clone().requires_grad_(True)
    logits, steps = model.greedy(leaf, MAX_LEN)
    same_steps = torch.equal(steps, d["check.greedy_steps"])
    print(f"  greedy decoder steps equal: {same_steps} (python {steps.tolist()})")
    ok &= same_steps
    if logits.shape == d["check.greedy_logits"].shape:
        ok &= report("greedy logits", logits.detach(), d["check.greedy_logits"], 1e-4)
    loss = nicg_loss(logits, steps)
    grad, = torch.autograd.grad(loss.sum(), leaf)
    ok &= report("NICGSlowDown loss (per sample)", loss.detach(), d["check.loss"], 1e-4)
    ok &= report("input gradient of the loss", grad, d["check.grad"], 1e-5)
    iterations = int(d["check.attack_iterations"])
    adv, adv_steps, _ = nicg_slowdown(model, x, iterations=iterations)
    print(f"  NICGSlowDown {iterations} iterations, decoder steps equal: "
          f"{torch.equal(adv_steps, d['check.attack_steps'])} (python {adv_steps.tolist()}, "
          f"cpp {d['check.attack_steps'].tolist()})")
    ok &= report("NICGSlowDown result", adv, d["check.attack"], 1e-3)
    print("parity: " + ("every check passed" if ok else "SOME CHECKS FAILED"))
    return 0 if ok else 1


def time_attack(args):
    torch.set_num_threads(args.threads)
    b, calls, warmup = args.batch, args.calls, args.warmup_iterations
    if args.family == "deepsloth":
        iterations = args.iterations or 30
        d = torch.load(os.path.join(args.data, "sdn.pt"))
        model, x = load_multi_exit(d), d["inputs.images"]

        def run(c, its):
            s = batch_start(c, b, x.size(0))
            deepsloth_linf(model, x[s:s + b], list(range(s, s + b)), iterations=its)
            return b * its
    else:
        iterations = args.iterations or 100
        d = torch.load(os.path.join(args.data, "captioner.pt"))
        model, x = load_captioner(d), d["inputs.images"]

        def run(c, its):
            s = batch_start(c, b, x.size(0))
            return b * nicg_slowdown(model, x[s:s + b], iterations=its)[2]
    if b > x.size(0):
        sys.exit("run.py: batch larger than the exported inputs")
    if warmup > 0:
        run(0, warmup)
    work = 0
    t0 = time.perf_counter()
    for c in range(calls):
        work += run(c, iterations)
    seconds = time.perf_counter() - t0
    print(f"RESULT side=python family={args.family} batch={b} calls={calls} "
          f"iterations={iterations} threads={args.threads} seconds={seconds:.6f} "
          f"samples={b * calls} work={work}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="parity of forward outputs, losses, gradients, attacks")
    c.add_argument("--data", required=True, help="directory written by bench_reference export")
    c.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    t = sub.add_parser("time", help="time one attack at one batch size")
    t.add_argument("--family", choices=["deepsloth", "nicg"], required=True)
    t.add_argument("--data", required=True, help="directory written by bench_reference export")
    t.add_argument("--batch", type=int, default=32, help="inputs per call (default 32)")
    t.add_argument("--calls", type=int, default=1, help="timed calls (default 1)")
    t.add_argument("--iterations", type=int, default=0,
                   help="attack iterations (default: the catalog's, 30 / 100)")
    t.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    t.add_argument("--warmup-iterations", type=int, default=2,
                   help="iterations of the untimed warm-up call on the first batch (default 2)")
    args = p.parse_args()
    return check(args) if args.command == "check" else time_attack(args)


if __name__ == "__main__":
    sys.exit(main())
