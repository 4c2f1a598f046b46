"""DeepSloth, L-inf per-sample variant (Hong et al., ICLR 2021), as our C++
attacks/deepsloth.cpp and attacks/attack.cpp (LinfSignSteps) run it.

Loss: for every internal exit, the cross-entropy of its softmax against the
uniform distribution, summed over the batch; minimised by sign-gradient
descent from a random start uniform in [-step, step], projected onto the
eps-ball around x and onto [0, 1]. Each sample's random start comes from its
own generator seeded with the sample's seed, as in the C++ code, so both
sides start from the same point. (Our C++ attacks a lone sample as a batch of
two copies of itself for batch invariance; this reference does not.)
"""
import torch
import torch.nn.functional as F

EPS = 8 / 255       # attacks/catalog.cpp defaults for deepsloth, norm linf
STEP = 0.002
ITERATIONS = 30


def deepsloth_loss(exit_logits):
    """sum_{i < K-1} -(1/C) sum_c log(softmax(exit_i)_c + 1e-9), summed over samples."""
    loss = torch.zeros(())
    for logits in exit_logits[:-1]:
        loss = loss - torch.log(F.softmax(logits, 1) + 1e-9).mean(1).sum()
    return loss


def per_sample_uniform(like, seeds, lo, hi):
    """Uniform noise shaped like `like`, sample n drawn from a generator seeded with seeds[n]."""
    parts = []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        parts.append(torch.rand(like.shape[1:], generator=g) * (hi - lo) + lo)
    return torch.stack(parts)


def deepsloth_linf(model, x, seeds, eps=EPS, step=STEP, iterations=ITERATIONS):
    """Adversarial images [B, C, H, W] for images x in [0, 1]."""
    lo = (x - eps).clamp(0, 1)
    hi = (x + eps).clamp(0, 1)
    x_adv = torch.max(torch.min(x + per_sample_uniform(x, seeds, -step, step), hi), lo)
    for _ in range(iterations):
        x_adv.requires_grad_(True)
        loss = deepsloth_loss(model(x_adv))
        grad, = torch.autograd.grad(loss, x_adv)
        with torch.no_grad():
            x_adv = x_adv - step * grad.sign()
            x_adv = torch.max(torch.min(x_adv, hi), lo)
    return x_adv.detach()
