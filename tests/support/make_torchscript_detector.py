#!/usr/bin/python3
"""Writes small TorchScript detectors that follow the "detection" contract of
docs/model-contract.md.

Run at test time with Debian's python3-torch:
    /usr/bin/python3 make_torchscript_detector.py OUT_DIR [FASHION_MNIST_DIR]

Writes
    OUT_DIR/detector.pt      a YOLO-style grid detector for 1x64x64 frames and
                             the 10 Fashion-MNIST classes (fashion-mnist-sequences),
                             trained for a few seconds on canvases with 1-4
                             Fashion-MNIST items (random blobs when the IDX files
                             are not in FASHION_MNIST_DIR)
    OUT_DIR/pedestrian.pt    the same network for 1x48x48 frames and one class
                             (class 0 = pedestrian; mot17), trained on canvases
                             with bright upright rectangles on a darker ground
and broken variants for the contract checks:
    det_no_method.pt     no forward_candidates
    det_bad_shape.pt     class_probs with 5 classes where num_classes is 10
    det_logits.pt        objectness returned as logits (negative values)
    det_rgb.pt           in_channels 3
    det_two_outputs.pt   forward_candidates returns 2 tensors
    det_wrong_family.pt  declares effrobust_family "early_exit"
"""
import os
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from script_common import out_and_data_dir, read_train, save  # beside this script

torch.set_num_threads(1)
torch.manual_seed(0)

STRIDE = 8


# ------------------------------------------------------------------ model
class GridDetector(nn.Module):
    """A CNN to an (S/8) x (S/8) grid; each cell predicts objectness, one box
    (centre offset in the cell, width and height as anchor * exp) and class
    probabilities: the raw candidates the contract asks for."""

    def __init__(self, image_size: int, num_classes: int, anchor: float):
        super().__init__()
        self.effrobust_family = "detection"
        self.in_channels = 1
        self.image_size = image_size
        self.num_classes = num_classes
        self.anchor = anchor
        self.stride = float(STRIDE)
        w = 24
        self.backbone = nn.Sequential(
            nn.Conv2d(1, w // 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w // 2, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(w, 5 + num_classes, 1)
        with torch.no_grad():
            self.head.bias[0].fill_(-4.6)  # objectness prior ~1 %
        g = image_size // STRIDE
        idx = torch.arange(g * g, dtype=torch.float32)
        self.register_buffer("cell_x", torch.remainder(idx, g))
        self.register_buffer("cell_y", torch.floor(idx / g))

    def raw(self, images: torch.Tensor) -> torch.Tensor:
        """Head output [B, N, 5 + classes]."""
        return self.head(self.backbone(images)).flatten(2).transpose(1, 2)

    @torch.jit.export
    def forward_candidates(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                                 torch.Tensor]:
        h = self.raw(images)
        objectness = torch.sigmoid(h[:, :, 0])
        class_probs = torch.softmax(h[:, :, 5:], 2)
        cx = (self.cell_x + torch.sigmoid(h[:, :, 1])) * self.stride
        cy = (self.cell_y + torch.sigmoid(h[:, :, 2])) * self.stride
        bw = torch.exp(h[:, :, 3].clamp(-4.0, 2.0)) * self.anchor
        bh = torch.exp(h[:, :, 4].clamp(-4.0, 2.0)) * self.anchor
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 2)
        return objectness, class_probs, boxes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_candidates(images)[0]


# ------------------------------------------------------------------ data
def fashion_items(data_dir: str, n: int):
    """n items [n, 20, 20] in [0, 1] (resized as the scenes' items) and labels."""
    train = read_train(data_dir, n)
    if train is not None:
        x, y = train
    else:
        g = torch.Generator().manual_seed(1)
        y = torch.randint(0, 10, (n,), generator=g)
        x = torch.zeros(n, 1, 28, 28)
        for i in range(n):  # a blob whose shape depends on the class
            k = int(y[i])
            x[i, 0, 4 + k // 2:24 - k // 3, 6:22 - k // 2] = 0.5 + 0.05 * k
    return F.interpolate(x, size=(20, 20), mode="area")[:, 0], y


def canvases(n: int, size: int, items, labels, g: torch.Generator):
    """n canvases [n, 1, size, size] with 1-4 items each; per canvas a list of
    (x0, y0, x1, y1, label) tight boxes of the items' non-zero pixels."""
    x = torch.zeros(n, 1, size, size)
    boxes = []
    for i in range(n):
        k = int(torch.randint(1, 5, (1,), generator=g))
        bs = []
        for _ in range(k):
            j = int(torch.randint(0, items.shape[0], (1,), generator=g))
            item = items[j]
            h, w = item.shape
            top = int(torch.randint(0, size - h + 1, (1,), generator=g))
            left = int(torch.randint(0, size - w + 1, (1,), generator=g))
            x[i, 0, top:top + h, left:left + w] = torch.maximum(
                x[i, 0, top:top + h, left:left + w], item)
            ys, xs = torch.nonzero(item > 0.02, as_tuple=True)
            if ys.numel() == 0:
                continue
            bs.append((left + float(xs.min()), top + float(ys.min()), left + float(xs.max()) + 1,
                       top + float(ys.max()) + 1, int(labels[j])))
        boxes.append(bs)
    return x, boxes


def pedestrians(n: int, size: int, g: torch.Generator):
    """Upright bright rectangles (about 1:2.5) on a darker, noisy ground."""
    x = 0.2 + 0.05 * torch.rand(n, 1, size, size, generator=g)
    boxes = []
    for i in range(n):
        k = int(torch.randint(1, 4, (1,), generator=g))
        bs = []
        for _ in range(k):
            w = int(torch.randint(4, 9, (1,), generator=g))
            h = min(size, int(w * 2.5))
            top = int(torch.randint(0, size - h + 1, (1,), generator=g))
            left = int(torch.randint(0, size - w + 1, (1,), generator=g))
            x[i, 0, top:top + h, left:left + w] = 0.8 + 0.1 * float(torch.rand(1, generator=g))
            bs.append((float(left), float(top), float(left + w), float(top + h), 0))
        boxes.append(bs)
    return x, boxes


# ------------------------------------------------------------------ training
def targets(net: GridDetector, boxes):
    """Per cell: object mask, tx, ty (centre offset in (0, 1)), tw, th (log of
    size / anchor), class; one box per cell (the last one wins)."""
    g = net.image_size // STRIDE
    n = len(boxes)
    obj = torch.zeros(n, g * g)
    box = torch.zeros(n, g * g, 4)
    cls = torch.zeros(n, g * g, dtype=torch.long)
    for i, bs in enumerate(boxes):
        for (x0, y0, x1, y1, label) in bs:
            cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
            col, row = min(int(cx), g - 1), min(int(cy), g - 1)
            c = row * g + col
            obj[i, c] = 1
            box[i, c] = torch.tensor([min(max(cx - col, 0.01), 0.99), min(max(cy - row, 0.01), 0.99),
                                      float(torch.log(torch.tensor((x1 - x0) / net.anchor))),
                                      float(torch.log(torch.tensor((y1 - y0) / net.anchor)))])
            cls[i, c] = label
    return obj, box, cls


def loss_fn(net: GridDetector, x, obj, box, cls):
    h = net.raw(x)
    loss = F.binary_cross_entropy_with_logits(h[:, :, 0], obj)
    m = obj > 0
    if m.any():
        hm = h[m]
        loss = loss + 5 * F.binary_cross_entropy_with_logits(hm[:, 1:3], box[m][:, 0:2])
        loss = loss + F.smooth_l1_loss(hm[:, 3:5], box[m][:, 2:4])
        loss = loss + F.cross_entropy(hm[:, 5:], cls[m])
    return loss


def train(net: GridDetector, x, boxes, epochs: int):
    obj, box, cls = targets(net, boxes)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss_fn(net, x[idx], obj[idx], box[idx], cls[idx]).backward()
            opt.step()
    net.eval()


# ------------------------------------------------------------------ broken
class NoMethod(nn.Module):
    def __init__(self):
        super().__init__()
        self.effrobust_family = "detection"
        self.in_channels = 1
        self.image_size = 64
        self.num_classes = 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Broken(GridDetector):
    """GridDetector with one contract violation, picked by `kind`."""

    def __init__(self, kind: int):
        super().__init__(64, 10, 20.0)
        self.kind = kind
        if kind == 3:
            self.in_channels = 3

    @torch.jit.export
    def forward_candidates(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                                 torch.Tensor]:
        h = self.raw(images[:, :1])
        objectness = torch.sigmoid(h[:, :, 0])
        class_probs = torch.softmax(h[:, :, 5:], 2)
        boxes = h[:, :, 1:5]
        if self.kind == 1:
            class_probs = class_probs[:, :, :5]
        if self.kind == 2:
            objectness = h[:, :, 0]
        return objectness, class_probs, boxes


class TwoOutputs(GridDetector):
    def __init__(self):
        super().__init__(64, 10, 20.0)

    @torch.jit.export
    def forward_candidates(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.raw(images)
        return torch.sigmoid(h[:, :, 0]), torch.softmax(h[:, :, 5:], 2)


def main():
    out, data_dir = out_and_data_dir()
    g = torch.Generator().manual_seed(2)

    items, labels = fashion_items(data_dir, 3000)
    x, boxes = canvases(2000, 64, items, labels, g)
    torch.manual_seed(1)
    det = GridDetector(64, 10, 20.0)
    train(det, x, boxes, 8)
    save(det, os.path.join(out, "detector.pt"))

    x, boxes = pedestrians(600, 48, g)
    torch.manual_seed(2)
    ped = GridDetector(48, 1, 12.0)
    train(ped, x, boxes, 3)
    save(ped, os.path.join(out, "pedestrian.pt"))

    save(NoMethod(), os.path.join(out, "det_no_method.pt"))
    save(Broken(1), os.path.join(out, "det_bad_shape.pt"))
    broken = Broken(2)
    with torch.no_grad():
        broken.head.bias[0].fill_(-3.0)  # logits of zero images are negative
    save(broken, os.path.join(out, "det_logits.pt"))
    save(Broken(3), os.path.join(out, "det_rgb.pt"))
    save(TwoOutputs(), os.path.join(out, "det_two_outputs.pt"))
    family = GridDetector(64, 10, 20.0)
    family.effrobust_family = "early_exit"
    save(family, os.path.join(out, "det_wrong_family.pt"))


if __name__ == "__main__":
    main()
