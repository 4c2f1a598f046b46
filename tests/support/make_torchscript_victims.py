#!/usr/bin/python3
"""Writes small TorchScript victims that follow docs/model-contract.md.

Run at test time with Debian's python3-torch:
    /usr/bin/python3 make_torchscript_victims.py OUT_DIR [FASHION_MNIST_DIR]

Writes OUT_DIR/{early_exit,skip_gate,adaptive_token}.pt (each trained for a
few seconds on 3000 Fashion-MNIST training images when the IDX files are in
FASHION_MNIST_DIR, on random images otherwise) and broken variants for the
contract checks:
    ee_no_method.pt      early_exit without forward_exits
    ee_bad_shape.pt      early_exit whose exit logits have 5 classes, not 10
    ee_no_thresholds.pt  early_exit without exit_thresholds
    ee_rgb32.pt          early_exit for 3x32x32 images (untrained; runs on cifar10, is
                         refused for fashion-mnist)
    sg_no_flops.pt       skip_gate without block_flops
    at_bad_active.pt     adaptive_token whose `active` is [B] instead of [B, L]
"""
import os
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from script_common import out_and_data_dir, read_train, save  # beside this script

torch.set_num_threads(1)
torch.manual_seed(0)


def conv_flops(cin: int, cout: int, k: int, hout: int) -> float:
    return 2.0 * cin * cout * k * k * hout * hout


def linear_flops(i: int, o: int) -> float:
    return 2.0 * i * o


# ---------------------------------------------------------------- early_exit
class EarlyExitNet(nn.Module):
    """Three conv stages (28 -> 14 -> 7 -> 4), an exit head after each."""

    def __init__(self):
        super().__init__()
        self.effrobust_family = "early_exit"
        self.in_channels = 1
        self.image_size = 28
        self.num_classes = 10
        chans = [1, 8, 16, 32]
        sizes = [14, 7, 4]
        self.stages = nn.ModuleList(
            [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1) for i in range(3)])
        self.heads = nn.ModuleList([nn.Linear(4 * chans[i + 1], 10) for i in range(3)])
        flops: List[float] = []
        total = 0.0
        for i in range(3):
            total += conv_flops(chans[i], chans[i + 1], 3, sizes[i]) + linear_flops(4 * chans[i + 1], 10)
            flops.append(total)
        self.exit_flops: List[float] = flops  # cumulative
        self.exit_thresholds: Dict[str, float] = {"rad5": 1.0, "rad15": 1.0}  # set by Calibrate

    @torch.jit.export
    def forward_exits(self, x: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        logits: List[torch.Tensor] = []
        feats: List[torch.Tensor] = []
        h = x
        for stage, head in zip(self.stages, self.heads):
            h = F.relu(stage(h))
            feats.append(h)
            logits.append(head(F.adaptive_avg_pool2d(h, 2).flatten(1)))
        return logits, feats

    @torch.jit.export
    def infer(self, x: torch.Tensor, q: float, max_exits: int) -> torch.Tensor:
        h = x
        out = torch.zeros(1)
        i = 0
        for stage, head in zip(self.stages, self.heads):
            h = F.relu(stage(h))
            out = head(F.adaptive_avg_pool2d(h, 2).flatten(1))
            if i + 1 >= max_exits or float(F.softmax(out, 1).max()) >= q:
                return out
            i += 1
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_exits(x)[0][-1]


def calibrate(net: EarlyExitNet, x, y):
    """The RAD rule effrobust uses for its own early-exit models: per RAD
    level r, the threshold q in {0.05, ..., 0.95} with the lowest mean cost
    whose accuracy is at least (1 - r) * the final exit's accuracy (1.0 if
    none)."""
    with torch.no_grad():
        logits, _ = net.forward_exits(x)
    conf = torch.stack([F.softmax(l, 1).max(1).values for l in logits], 1)
    correct = torch.stack([l.argmax(1) == y for l in logits], 1)
    cost = torch.tensor(net.exit_flops) / net.exit_flops[-1]
    full = correct[:, -1].float().mean().item()
    out: Dict[str, float] = {}
    for name, rad in (("rad5", 0.05), ("rad15", 0.15)):
        best_q, best_cost = 1.0, 1.0
        for i in range(1, 20):
            q = i / 20.0
            fire = conf >= q
            fire[:, -1] = True
            exit_idx = fire.float().argmax(1)
            acc = correct.gather(1, exit_idx[:, None]).float().mean().item()
            mean_cost = cost[exit_idx].mean().item()
            if acc >= (1 - rad) * full and mean_cost < best_cost:
                best_q, best_cost = q, mean_cost
        out[name] = best_q
    net.exit_thresholds = out


# ---------------------------------------------------------------- skip_gate
class GatedBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.gate = nn.Linear(c, 1)

    def forward(self, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = torch.sigmoid(self.gate(h.mean(dim=[2, 3]))).squeeze(1)  # P(run) [B]
        hard = (p > 0.5).to(p.dtype)
        mask = hard + p - p.detach()  # straight-through: 0/1 forward, dP backward
        f = F.relu(self.conv(h)) * mask[:, None, None, None]
        return h + f, p, f


class SkipGateNet(nn.Module):
    """A stem conv (28 -> 14) and three gated residual blocks; block j runs
    for a sample iff its gate P(run) > 0.5."""

    def __init__(self):
        super().__init__()
        self.effrobust_family = "skip_gate"
        self.in_channels = 1
        self.image_size = 28
        self.num_classes = 10
        c = 16
        self.stem = nn.Conv2d(1, c, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList([GatedBlock(c) for _ in range(3)])
        self.head = nn.Linear(4 * c, 10)
        self.block_flops: List[float] = [conv_flops(c, c, 3, 14)] * 3
        self.base_flops = conv_flops(1, c, 3, 14) + 3 * linear_flops(c, 1) + linear_flops(4 * c, 10)

    @torch.jit.export
    def forward_gated(self, x: torch.Tensor
                      ) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor]]:
        h = F.relu(self.stem(x))
        gates: List[torch.Tensor] = []
        feats: List[torch.Tensor] = []
        for block in self.blocks:
            h, p, f = block(h)
            gates.append(p)
            feats.append(f)
        return self.head(F.adaptive_avg_pool2d(h, 2).flatten(1)), gates, feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_gated(x)[0]


def set_gate_operating_point(net: SkipGateNet, x, off_share: float):
    """Shifts each gate's bias (block by block) so that it is closed for
    `off_share` of the images `x`: clean samples then sit near the decision
    threshold, as in a network trained with a compute budget."""
    with torch.no_grad():
        h = F.relu(net.stem(x))
        for block in net.blocks:
            logit = block.gate(h.mean(dim=[2, 3])).squeeze(1)
            block.gate.bias -= torch.quantile(logit, off_share)
            h, _, _ = block(h)


# ---------------------------------------------------------- adaptive_token
class TokenBlock(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, t: torch.Tensor, m: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        b, n, d = t.shape
        hd = d // self.heads
        qkv = self.qkv(self.norm1(t)).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(-2, -1) / (hd ** 0.5)
        scores = scores + (1.0 - m)[:, None, None, :] * -1e9  # halted tokens are no keys
        a = (F.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, n, d)
        t = t + self.proj(a) * m[:, :, None]
        hidden = F.gelu(self.fc1(self.norm2(t))) * m[:, :, None]
        return t + self.fc2(hidden) * m[:, :, None], hidden


class AdaptiveTokenNet(nn.Module):
    """A-ViT-style: 16 patch tokens (7x7 patches), 3 blocks, per-token halting
    h = sigmoid(gamma * e_0 - beta); a token halts once its summed score
    reaches 1 - eps, and is then frozen and masked out."""

    def __init__(self):
        super().__init__()
        self.effrobust_family = "adaptive_token"
        self.in_channels = 1
        self.image_size = 28
        self.num_classes = 10
        d, n, depth = 32, 16, 3
        self.embed = nn.Conv2d(1, d, 7, stride=7)
        self.pos = nn.Parameter(torch.zeros(1, n, d))
        self.blocks = nn.ModuleList([TokenBlock(d, 2) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 10)
        self.gamma = 5.0
        self.beta = 5.0
        self.eps = 0.01
        layer = (linear_flops(d, 3 * d) + linear_flops(d, d) + linear_flops(d, 2 * d) +
                 linear_flops(2 * d, d)) * n + 2 * 2.0 * n * n * d
        self.layer_flops: List[float] = [layer] * depth
        self.base_flops = conv_flops(1, d, 7, 4) + linear_flops(d, 10)

    @torch.jit.export
    def forward_halting(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                         torch.Tensor, List[torch.Tensor]]:
        t = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        b, n = t.shape[0], t.shape[1]
        depth = len(self.blocks)
        running = torch.ones([b, n], dtype=t.dtype, device=t.device)
        c = torch.zeros([b, n], dtype=t.dtype, device=t.device)
        rem = torch.ones([b, n], dtype=t.dtype, device=t.device)
        rho = torch.zeros([b, n], dtype=t.dtype, device=t.device)
        out = torch.zeros_like(t)
        halting: List[torch.Tensor] = []
        active: List[torch.Tensor] = []
        feats: List[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            m = running
            active.append(m.sum(1))
            t_new, hidden = block(t, m)
            t = m[:, :, None] * t_new + (1.0 - m[:, :, None]) * t
            feats.append(hidden)
            if i == depth - 1:
                h = torch.ones([b, n], dtype=t.dtype, device=t.device)
            else:
                h = torch.sigmoid(self.gamma * t[:, :, 0] - self.beta)
            h = h * m
            halting.append(h)
            c_new = c + h
            halt = m * (c_new >= 1.0 - self.eps).to(t.dtype)
            cont = m - halt
            out = out + (cont * h + halt * rem)[:, :, None] * t
            rho = rho + m + halt * rem
            rem = rem - cont * h
            c = c_new
            running = cont
        logits = self.head(self.norm(out.mean(1)))
        return logits, rho, torch.stack(halting, 1), torch.stack(active, 1), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_halting(x)[0]


# ------------------------------------------------------- broken variants
class NoMethod(nn.Module):
    def __init__(self):
        super().__init__()
        self.effrobust_family = "early_exit"
        self.in_channels = 1
        self.image_size = 28
        self.num_classes = 10
        self.exit_flops: List[float] = [1.0, 2.0]
        self.exit_thresholds: Dict[str, float] = {"rad5": 0.5, "rad15": 0.5}
        self.fc = nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class BadShape(NoMethod):
    @torch.jit.export
    def forward_exits(self, x: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        h = self.fc(x.flatten(1))
        return [h[:, :5], h[:, :5]], [h, h]


class NoThresholds(EarlyExitNet):
    def __init__(self):
        super().__init__()
        del self.exit_thresholds


class WrongInput(EarlyExitNet):
    """A valid early_exit victim for 3x32x32 images (not Fashion-MNIST's)."""

    def __init__(self):
        super().__init__()
        self.in_channels = 3
        self.image_size = 32
        self.stages[0] = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        chans, sizes, total = [3, 8, 16, 32], [16, 8, 4], 0.0
        flops: List[float] = []
        for i in range(3):
            total += conv_flops(chans[i], chans[i + 1], 3, sizes[i]) + linear_flops(4 * chans[i + 1], 10)
            flops.append(total)
        self.exit_flops = flops


class NoBlockFlops(SkipGateNet):
    def __init__(self):
        super().__init__()
        del self.block_flops


class BadActive(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = AdaptiveTokenNet()
        for name in ("effrobust_family", "in_channels", "image_size", "num_classes",
                     "layer_flops", "base_flops"):
            setattr(self, name, getattr(self.inner, name))

    @torch.jit.export
    def forward_halting(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                         torch.Tensor, List[torch.Tensor]]:
        logits, rho, halting, active, feats = self.inner.forward_halting(x)
        return logits, rho, halting, active.sum(1), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


# ------------------------------------------------------------------ data
def load_data(data_dir: str, n: int):
    train = read_train(data_dir, n)
    if train is not None:
        return train
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def train(net: nn.Module, loss_fn, x, y, epochs: int):
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss_fn(net, x[idx], y[idx]).backward()
            opt.step()
    net.eval()


def ee_loss(net, x, y):
    return sum(F.cross_entropy(l, y) for l in net.forward_exits(x)[0])


def sg_loss(net, x, y):
    logits, gates, _ = net.forward_gated(x)
    # Cross-entropy plus a target execution rate of 1/2, so that some gates
    # close on clean data.
    return F.cross_entropy(logits, y) + 2.0 * (torch.stack(gates, 1).mean() - 0.5) ** 2


def at_loss(net, x, y):
    logits, rho, _, _, _ = net.forward_halting(x)
    return F.cross_entropy(logits, y) + 0.1 * rho.mean()


def main():
    out, data_dir = out_and_data_dir()
    x, y = load_data(data_dir, 3500)
    xt, yt, xv, yv = x[:3000], y[:3000], x[3000:], y[3000:]

    torch.manual_seed(1)
    ee = EarlyExitNet()
    train(ee, ee_loss, xt, yt, 3)
    calibrate(ee, xv, yv)
    save(ee, os.path.join(out, "early_exit.pt"))

    torch.manual_seed(2)
    sg = SkipGateNet()
    train(sg, sg_loss, xt, yt, 2)
    set_gate_operating_point(sg, xv, 0.7)
    # Adapt the rest of the network to that operating point (gates frozen),
    # then set it again.
    for block in sg.blocks:
        block.gate.requires_grad_(False)
    train(sg, lambda net, xb, yb: F.cross_entropy(net.forward_gated(xb)[0], yb), xt, yt, 1)
    set_gate_operating_point(sg, xv, 0.7)
    save(sg, os.path.join(out, "skip_gate.pt"))

    torch.manual_seed(3)
    at = AdaptiveTokenNet()
    train(at, at_loss, xt, yt, 2)
    save(at, os.path.join(out, "adaptive_token.pt"))

    save(NoMethod(), os.path.join(out, "ee_no_method.pt"))
    save(BadShape(), os.path.join(out, "ee_bad_shape.pt"))
    save(NoThresholds(), os.path.join(out, "ee_no_thresholds.pt"))
    save(WrongInput(), os.path.join(out, "ee_rgb32.pt"))
    save(NoBlockFlops(), os.path.join(out, "sg_no_flops.pt"))
    save(BadActive(), os.path.join(out, "at_bad_active.pt"))


if __name__ == "__main__":
    main()
