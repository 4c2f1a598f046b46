"""The victims of the Python reference, layer by layer as our C++ modules.

MultiExitCNN mirrors models/multi_exit_cnn.cpp and Captioner mirrors
models/captioner.cpp, down to the parameter names, so that the state that
`bench_reference export` writes loads with strict=True. Both use the same
torch ops in the same order as the C++ code (conv2d, batch_norm, relu,
adaptive pooling, linear, embedding, lstm_cell / gru_cell).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

START, END = 1, 2  # data/vocabulary.h: kStart, kEnd
NO_ITEM = 10       # item class of a region with no item centred in it


class MixPool(nn.Module):
    """SDN mixed pooling: alpha * maxpool + (1 - alpha) * avgpool to out x out."""

    def __init__(self, out_size):
        super().__init__()
        self.out_size = out_size
        self.alpha = nn.Parameter(torch.full((1,), 0.5))

    def forward(self, x):
        mx = F.adaptive_max_pool2d(x, (self.out_size, self.out_size))
        av = F.adaptive_avg_pool2d(x, (self.out_size, self.out_size))
        return self.alpha * mx + (1 - self.alpha) * av


class MultiExitCNN(nn.Module):
    """Conv blocks (conv 3x3 no bias, BN, ReLU, 2x2 max-pool after even blocks
    but the last while the map is >= 8 wide), a MixPool + linear head per block."""

    def __init__(self, channels=(16, 32, 32, 64, 64), in_channels=1, image_size=28,
                 num_classes=10):
        super().__init__()
        self.num_exits = len(channels)
        cin, size = in_channels, image_size
        for i, cout in enumerate(channels):
            layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                      nn.ReLU()]
            if i % 2 == 0 and i + 1 < self.num_exits and size >= 8:
                layers.append(nn.MaxPool2d(2, 2))
                size //= 2
            self.add_module(f"block{i}", nn.Sequential(*layers))
            pooled = min(size, 2)
            self.add_module(f"head{i}", nn.Sequential(
                MixPool(pooled), nn.Flatten(), nn.Linear(cout * pooled * pooled, num_classes)))
            cin = cout

    def forward(self, x):
        """Logits of every exit, a list of K tensors [B, classes]."""
        outs = []
        for i in range(self.num_exits):
            x = getattr(self, f"block{i}")(x)
            outs.append(getattr(self, f"head{i}")(x))
        return outs


class Captioner(nn.Module):
    """Show-Attend-Tell style captioner: CNN encoder to an 8x8 region grid, additive
    attention, an LSTM (or GRU) cell, greedy decoding until <end> or max_len."""

    def __init__(self, vocab, lstm=True, image_size=64, channels=64, embed=64, hidden=128,
                 attention=64):
        super().__init__()
        w = channels

        def conv(cin, cout):
            return nn.Conv2d(cin, cout, 3, padding=1)

        self.lstm_cell = lstm
        self.encoder = nn.Sequential(
            conv(1, w // 4), nn.ReLU(), nn.MaxPool2d(2), conv(w // 4, w // 2), nn.ReLU(),
            nn.MaxPool2d(2), conv(w // 2, w), nn.ReLU(), nn.MaxPool2d(2), conv(w, w), nn.ReLU())
        self.position = nn.Parameter(torch.zeros((image_size // 8) ** 2, w))
        self.item_head = nn.Linear(w, NO_ITEM + 1)
        self.item_embed = nn.Linear(NO_ITEM + 1, w)
        self.init_h = nn.Linear(w, hidden)
        if lstm:
            self.init_c = nn.Linear(w, hidden)
        self.embed = nn.Embedding(vocab, embed)
        self.att_feat = nn.Linear(w, attention)
        self.att_hidden = nn.Linear(hidden, attention)
        self.att_v = nn.Linear(attention, 1)
        if lstm:
            self.lstm = nn.LSTMCell(embed + w, hidden)
        else:
            self.gru = nn.GRUCell(embed + w, hidden)
        self.out = nn.Linear(hidden + w, vocab)

    def encode(self, images):
        """Region features [B, R, C]: CNN regions + position + embedded item scores."""
        regions = self.encoder(images).flatten(2).transpose(1, 2)
        items = self.item_head(regions)
        return regions + self.position + self.item_embed(F.log_softmax(items, -1))

    def init_state(self, features):
        mean = features.mean(1)
        h = torch.tanh(self.init_h(mean))
        return (h, torch.tanh(self.init_c(mean))) if self.lstm_cell else h

    def step(self, features, tokens, state):
        """Logits [B, vocab] of the token after `tokens`, and the new state."""
        e = self.embed(tokens)
        h = state[0] if self.lstm_cell else state
        scores = self.att_v(torch.tanh(self.att_feat(features) +
                                       self.att_hidden(h).unsqueeze(1))).squeeze(-1)
        alpha = torch.softmax(scores, 1)
        ctx = (alpha.unsqueeze(-1) * features).sum(1)
        x = torch.cat([e, ctx], 1)
        if self.lstm_cell:
            state = self.lstm(x, state)
            h = state[0]
        else:
            state = h = self.gru(x, state)
        return self.out(torch.cat([h, ctx], 1)), state

    def greedy(self, images, max_len):
        """Greedy decoding of a batch until every sample emitted <end> or max_len
        steps ran. Returns (logits [B, T, vocab], steps [B]: steps each sample ran)."""
        features = self.encode(images)
        state = self.init_state(features)
        b = images.size(0)
        tokens = torch.full((b,), START, dtype=torch.long)
        steps = torch.zeros(b, dtype=torch.long)
        running = torch.ones(b, dtype=torch.bool)
        logits = []
        for _ in range(max_len):
            step_logits, state = self.step(features, tokens, state)
            logits.append(step_logits)
            tokens = step_logits.argmax(1)
            steps += running
            running &= tokens != END
            if not running.any():
                break
        return torch.stack(logits, 1), steps


def _state(exported):
    return {k[len("state."):]: v for k, v in exported.items() if k.startswith("state.")}


def _frozen(model):
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_multi_exit(exported):
    """MultiExitCNN from the dict in sdn.pt (eval mode, parameters frozen)."""
    model = MultiExitCNN(channels=exported["config.channels"].tolist(),
                         in_channels=int(exported["config.in_channels"]),
                         image_size=int(exported["config.image_size"]),
                         num_classes=int(exported["config.num_classes"]))
    model.load_state_dict(_state(exported), strict=True)
    return _frozen(model)


def load_captioner(exported):
    """Captioner from the dict in captioner.pt (eval mode, parameters frozen)."""
    model = Captioner(vocab=int(exported["config.vocab"]), lstm=bool(exported["config.lstm"]),
                      image_size=int(exported["config.image_size"]),
                      channels=int(exported["config.channels"]),
                      embed=int(exported["config.embed"]), hidden=int(exported["config.hidden"]),
                      attention=int(exported["config.attention"]))
    model.load_state_dict(_state(exported), strict=True)
    return _frozen(model)
