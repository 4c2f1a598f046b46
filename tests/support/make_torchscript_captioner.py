#!/usr/bin/python3
"""Writes small TorchScript captioners that follow the "captioning" contract of
docs/model-contract.md.

Run at test time with Debian's python3-torch:
    /usr/bin/python3 make_torchscript_captioner.py OUT_DIR [DATA_DIR]

DATA_DIR holds training scenes written by the C++ test
(tests/support/scripted_captioner.h): scenes.u8 (N x 64 x 64 grey bytes, row-major)
and captions.txt (N lines, one caption per scene). With it, OUT_DIR/captioner.pt
is trained on them for a few seconds (teacher forcing, fixed seed); without it,
on random images with random short captions. Also written, untrained:
    captioner_rgb32.pt   3 x 32 x 32 inputs (for captions-json images)
and broken variants for the contract checks:
    cap_no_step.pt       without decode_step
    cap_bad_logits.pt    decode_step logits [B, vocab - 1]
    cap_bad_vocab.pt     vocabulary that does not start with the specials
    cap_no_max_len.pt    without the max_len attribute
    cap_wrong_family.pt  declares effrobust_family "detection"
"""
import os
import time
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from script_common import out_and_data_dir, save  # beside this script

torch.set_num_threads(1)
torch.manual_seed(0)

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]


class AttentionCaptioner(nn.Module):
    """A small Show, Attend and Tell: conv encoder to an 8 x 8 grid of region
    features (plus a learned position), a GRU decoder with additive attention."""

    def __init__(self, vocabulary: List[str], in_channels: int = 1, image_size: int = 64,
                 max_len: int = 30, width: int = 24, hidden: int = 64, embed: int = 24):
        super().__init__()
        self.effrobust_family = "captioning"
        self.in_channels = in_channels
        self.image_size = image_size
        self.max_len = max_len
        self.vocabulary: List[str] = vocabulary
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.position = nn.Parameter(torch.randn(64, width) * 0.1)
        self.init_h = nn.Linear(width, hidden)
        self.embed = nn.Embedding(len(vocabulary), embed)
        self.att_feat = nn.Linear(width, 32)
        self.att_hidden = nn.Linear(hidden, 32)
        self.att_v = nn.Linear(32, 1)
        self.cell = nn.GRUCell(embed + width, hidden)
        self.out = nn.Linear(hidden + width, len(vocabulary))

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        f = F.adaptive_avg_pool2d(self.encoder(images), 8)  # [B, W, 8, 8]
        return f.flatten(2).transpose(1, 2) + self.position  # [B, 64, W]

    @torch.jit.export
    def init_state(self, features: torch.Tensor) -> List[torch.Tensor]:
        return [torch.tanh(self.init_h(features.mean(1)))]

    @torch.jit.export
    def decode_step(self, features: torch.Tensor, tokens: torch.Tensor,
                    state: List[torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        h = state[0]
        scores = self.att_v(torch.tanh(self.att_feat(features) +
                                       self.att_hidden(h).unsqueeze(1))).squeeze(-1)
        ctx = (torch.softmax(scores, 1).unsqueeze(-1) * features).sum(1)
        h = self.cell(torch.cat([self.embed(tokens), ctx], 1), h)
        return self.out(torch.cat([h, ctx], 1)), [h]

    def forward(self, images: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits [B, T - 1, vocab] predicting captions[:, 1:]."""
        f = self.encode(images)
        state = self.init_state(f)
        logits: List[torch.Tensor] = []
        for t in range(captions.size(1) - 1):
            step, state = self.decode_step(f, captions[:, t], state)
            logits.append(step)
        return torch.stack(logits, 1)


class NoStep(AttentionCaptioner):
    """decode_step is not exported: the scripted module lacks it."""

    @torch.jit.ignore
    def decode_step(self, features: torch.Tensor, tokens: torch.Tensor,
                    state: List[torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        return torch.zeros(1), state

    def forward(self, images: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        return self.encode(images)


class BadLogits(AttentionCaptioner):
    @torch.jit.export
    def decode_step(self, features: torch.Tensor, tokens: torch.Tensor,
                    state: List[torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        return torch.zeros(features.size(0), len(self.vocabulary) - 1), [state[0]]

    def forward(self, images: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        return self.encode(images)


class NoMaxLen(AttentionCaptioner):
    def __init__(self, vocabulary: List[str]):
        super().__init__(vocabulary)
        del self.max_len


def read_data(data_dir: str):
    captions = open(os.path.join(data_dir, "captions.txt")).read().splitlines()
    pixels = np.fromfile(os.path.join(data_dir, "scenes.u8"), dtype=np.uint8)
    images = torch.from_numpy(pixels.reshape(len(captions), 1, 64, 64).astype(np.float32) / 255.0)
    return images, captions


def random_data(n: int = 256):
    g = torch.Generator().manual_seed(1)
    images = torch.rand(n, 1, 64, 64, generator=g)
    words = ["a", "shirt", "bag", "and", "coat"]
    captions = [" ".join(words[: 1 + i % len(words)]) for i in range(n)]
    return images, captions


def encode_captions(captions: List[str], vocabulary: List[str]) -> torch.Tensor:
    ids = {w: i for i, w in enumerate(vocabulary)}
    rows = [[1] + [ids.get(w, 3) for w in c.split()] + [2] for c in captions]
    longest = max(len(r) for r in rows)
    return torch.tensor([r + [0] * (longest - len(r)) for r in rows], dtype=torch.int64)


def train(model: AttentionCaptioner, images: torch.Tensor, captions: torch.Tensor,
          epochs: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    g = torch.Generator().manual_seed(2)
    start = time.time()
    for epoch in range(epochs):
        order = torch.randperm(images.size(0), generator=g)
        total = 0.0
        for b in range(0, images.size(0), 32):
            idx = order[b:b + 32]
            logits = model(images[idx], captions[idx])
            loss = F.cross_entropy(logits.flatten(0, 1), captions[idx, 1:].flatten(),
                                   ignore_index=0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * idx.numel()
        print("epoch %d loss %.3f (%.1f s)" % (epoch, total / images.size(0), time.time() - start))


def greedy_lengths(model: AttentionCaptioner, images: torch.Tensor) -> List[int]:
    with torch.no_grad():
        f = model.encode(images)
        state = model.init_state(f)
        tokens = torch.full((images.size(0),), 1, dtype=torch.int64)
        steps = [0] * images.size(0)
        done = [False] * images.size(0)
        for _ in range(model.max_len):
            logits, state = model.decode_step(f, tokens, state)
            tokens = logits.argmax(1)
            for i in range(images.size(0)):
                if not done[i]:
                    steps[i] += 1
                    done[i] = int(tokens[i]) == 2
        return steps


def main() -> None:
    out, data_dir = out_and_data_dir()
    if data_dir:
        images, texts = read_data(data_dir)
        epochs = 12
    else:
        images, texts = random_data()
        epochs = 2
    vocabulary = SPECIALS + sorted({w for t in texts for w in t.split()})
    model = AttentionCaptioner(vocabulary)
    train(model, images, encode_captions(texts, vocabulary), epochs)
    model.eval()
    steps = greedy_lengths(model, images[:64])
    print("greedy steps on 64 training scenes: mean %.2f, max %d" %
          (sum(steps) / len(steps), max(steps)))
    save(model, os.path.join(out, "captioner.pt"))

    save(AttentionCaptioner(vocabulary, in_channels=3, image_size=32),
         os.path.join(out, "captioner_rgb32.pt"))
    save(NoStep(vocabulary), os.path.join(out, "cap_no_step.pt"))
    save(BadLogits(vocabulary), os.path.join(out, "cap_bad_logits.pt"))
    save(AttentionCaptioner(["<start>", "<pad>", "<end>", "<unk>", "shirt"]),
         os.path.join(out, "cap_bad_vocab.pt"))
    save(NoMaxLen(vocabulary), os.path.join(out, "cap_no_max_len.pt"))
    wrong_family = AttentionCaptioner(vocabulary)
    wrong_family.effrobust_family = "detection"
    save(wrong_family, os.path.join(out, "cap_wrong_family.pt"))


if __name__ == "__main__":
    main()
