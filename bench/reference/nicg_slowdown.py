"""NICGSlowDown (Chen et al., CVPR 2022) against the attention captioner, as our
C++ attacks/nicg_slowdown.cpp runs it.

Per step t of the adversarial image's own greedy caption, s_t = p_t(<end>) +
[y_t != <end>] p_t(y_t); loss = mean over the sample's steps of -log(1 - s_t)
(computed from the logits: log of the mass of every token but <end> and y_t)
+ c * ReLU(d(x_adv, x) - budget), with x_adv = (tanh(w) + 1) / 2 and w
optimised by Adam. d: sum of squared differences (l2) or the largest absolute
difference (linf). Of all iterates within the budget the one with the longest
caption is kept (the latest on ties).
"""
import torch
import torch.nn.functional as F

from models import END

NORM, BUDGET, C, LR, ITERATIONS, MAX_LEN = "l2", 1.0, 100.0, 0.05, 100, 60  # catalog defaults


def nicg_loss(logits, steps):
    """Per-sample loss [B] from greedy logits [B, T, V] and each sample's steps [B]."""
    neg_inf = float("-inf")
    others = logits.scatter(2, logits.argmax(2, keepdim=True), neg_inf)
    others = others.index_fill(2, torch.tensor([END]), neg_inf)
    log_rest = torch.logsumexp(others, 2) - torch.logsumexp(logits, 2)
    mask = (torch.arange(logits.size(1))[None, :] < steps[:, None]).float()
    return (-log_rest * mask).sum(1) / mask.sum(1)


def nicg_slowdown(model, images, norm=NORM, budget=BUDGET, c=C, lr=LR, iterations=ITERATIONS,
                  max_len=MAX_LEN):
    """Returns (adversarial images, their decoder steps [B], work) where work is the
    number of greedy steps the batch ran, summed over the iterations."""
    x = images.detach()
    with torch.no_grad():
        _, best_steps = model.greedy(x, max_len)
    best = x.clone()
    w = torch.atanh((2 * x - 1).clamp(-1 + 1e-3, 1 - 1e-3)).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    work = 0
    for _ in range(iterations):
        adv = (torch.tanh(w) + 1) / 2
        logits, steps = model.greedy(adv, max_len)
        work += logits.size(1)
        diff = (adv - x).flatten(1)
        dist = diff.pow(2).sum(1) if norm == "l2" else diff.abs().amax(1)
        loss = (nicg_loss(logits, steps) + c * F.relu(dist - budget)).sum()
        with torch.no_grad():
            keep = (dist <= budget) & (steps >= best_steps)
            best[keep] = adv[keep]
            best_steps = torch.where(keep, steps, best_steps)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return best, best_steps, work
