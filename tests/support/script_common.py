"""What the make_torchscript_*.py scripts share: their command line, saving a
scripted model, and reading Fashion-MNIST (Debian's dataset-fashion-mnist,
gzipped IDX files)."""
import gzip
import os
import sys
from typing import Optional, Tuple

import torch
import torch.nn as nn


def out_and_data_dir() -> Tuple[str, str]:
    """OUT_DIR (created) and FASHION_MNIST_DIR ("" when not given) of the
    scripts' command line: SCRIPT OUT_DIR [FASHION_MNIST_DIR]."""
    out = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) > 2 else ""
    os.makedirs(out, exist_ok=True)
    return out, data_dir


def save(net: nn.Module, path: str) -> None:
    """Scripts `net` in eval mode and saves it to `path`."""
    net.eval()
    torch.jit.save(torch.jit.script(net), path)


def read_idx(path: str) -> torch.Tensor:
    """The tensor of one gzipped IDX file (uint8, its stored shape)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def read_train(data_dir: str, n: int) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
    """The first n training images [n, 1, 28, 28] in [0, 1] and their labels,
    or None when data_dir is empty or holds no Fashion-MNIST."""
    images = os.path.join(data_dir, "train-images-idx3-ubyte.gz") if data_dir else ""
    if not images or not os.path.exists(images):
        return None
    x = read_idx(images)[:n].float().div(255.0).unsqueeze(1)
    y = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))[:n].long()
    return x, y
