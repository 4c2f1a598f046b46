#include "attacks/nmtsloth.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

namespace {

constexpr int64_t kMaxEdits = 3;

// Turns requires_grad off on the parameters that have it for its lifetime.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module) {
    for (auto& p : module.parameters()) {
      if (p.requires_grad()) {
        frozen_.push_back(p);
        p.set_requires_grad(false);
      }
    }
  }
  ~FrozenParameters() {
    for (auto& p : frozen_) p.set_requires_grad(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> frozen_;
};

// A character the attack may write: its vocabulary id and byte.
struct Letter {
  int64_t id;
  char byte;
};

std::vector<Letter> Letters(const Vocabulary& vocab) {
  std::vector<Letter> out;
  for (int64_t id = Vocabulary::kUnknown + 1; id < vocab.size(); ++id) {
    const std::string& t = vocab.Tokens()[static_cast<size_t>(id)];
    if (t.size() == 1 && static_cast<unsigned char>(t[0]) < 0x80) out.push_back({id, t[0]});
  }
  return out;
}

struct Candidate {
  double score;  // first-order change of the loss
  size_t order;  // enumeration order, for ties
  std::string text;
};

// The `k` distinct texts other than `text` with the lowest first-order
// scores. g_rows: G[j, v] = E_v . g_j for positions j = 0..len (len: <end>).
std::vector<std::string> RankEdits(const std::string& text, const std::vector<int64_t>& ids,
                                   const torch::TensorAccessor<double, 2>& g_rows,
                                   const std::vector<Letter>& letters, int64_t k) {
  const size_t len = text.size();  // ids has len + 1 entries, <end> last
  std::vector<double> base(len + 1);
  for (size_t j = 0; j <= len; ++j) base[j] = g_rows[j][ids[j]];
  // shift_right[j] = sum_{k > j} (G[k, x_{k-1}] - G[k, x_k]);
  // shift_left[j] = sum_{j <= k < len} (G[k, x_{k+1}] - G[k, x_k]).
  std::vector<double> shift_right(len + 1, 0.0), shift_left(len + 1, 0.0);
  for (size_t j = len; j-- > 0;) {
    shift_right[j] = shift_right[j + 1] + g_rows[j + 1][ids[j]] - base[j + 1];
    shift_left[j] = shift_left[j + 1] + g_rows[j][ids[j + 1]] - base[j];
  }
  std::vector<Candidate> all;
  size_t order = 0;
  for (size_t j = 0; j < len; ++j) {
    for (const Letter& l : letters) {
      if (l.id == ids[j]) continue;
      std::string t = text;
      t[j] = l.byte;
      all.push_back({g_rows[j][l.id] - base[j], order++, std::move(t)});
    }
  }
  for (size_t j = 0; j <= len; ++j) {
    for (const Letter& l : letters) {
      std::string t = text;
      t.insert(t.begin() + static_cast<std::ptrdiff_t>(j), l.byte);
      all.push_back({g_rows[j][l.id] - base[j] + shift_right[j], order++, std::move(t)});
    }
  }
  if (len > 1) {
    for (size_t j = 0; j < len; ++j) {
      std::string t = text;
      t.erase(j, 1);
      all.push_back({shift_left[j] - base[len], order++, std::move(t)});
    }
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score < b.score : a.order < b.order;
  });
  std::vector<std::string> out;
  std::set<std::string> seen{text};
  for (const Candidate& c : all) {
    if (static_cast<int64_t>(out.size()) == k) break;
    if (seen.insert(c.text).second) out.push_back(c.text);
  }
  return out;
}

std::vector<double> ToDoubles(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

}  // namespace

torch::Tensor NmtSlothLoss(const GreedyResult& g) {
  const torch::Tensor& logits = g.logits;  // [B, T, V]
  const int64_t b = logits.size(0), steps = logits.size(1);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  torch::Tensor y = logits.argmax(2, /*keepdim=*/true);  // [B, T, 1]
  torch::Tensor lse = torch::logsumexp(logits, 2);       // [B, T]
  torch::Tensor end_index = torch::tensor({Vocabulary::kEnd}, torch::kInt64).to(logits.device());
  // log(1 - s_t): the probability of every token but <end> and y_t.
  torch::Tensor others = logits.scatter(2, y, neg_inf).index_fill(2, end_index, neg_inf);
  torch::Tensor log_rest = torch::logsumexp(others, 2) - lse;
  // log s_t, and log(1 - s_t / 2) = log((1 - s_t) + s_t / 2) for the last step.
  torch::Tensor log_end = logits.select(2, Vocabulary::kEnd) - lse;
  torch::Tensor log_y = logits.gather(2, y).squeeze(2) - lse;
  torch::Tensor log_s = torch::logaddexp(
      log_end,
      torch::where(y.squeeze(2) == Vocabulary::kEnd, torch::full_like(log_y, neg_inf), log_y));
  torch::Tensor log_half = torch::logaddexp(log_rest, log_s - std::log(2.0));
  std::vector<float> valid_host(static_cast<size_t>(b * steps), 0.0f);
  std::vector<uint8_t> last_host(static_cast<size_t>(b * steps), 0);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t n = g.steps[static_cast<size_t>(i)];
    for (int64_t t = 0; t < n; ++t) valid_host[static_cast<size_t>(i * steps + t)] = 1.0f;
    if (n > 0) last_host[static_cast<size_t>(i * steps + n - 1)] = 1;
  }
  auto dev = logits.device();
  torch::Tensor valid = torch::tensor(valid_host).view({b, steps}).to(dev);
  torch::Tensor last =
      torch::tensor(last_host, torch::kUInt8).view({b, steps}).to(dev, torch::kBool);
  torch::Tensor bce = -torch::where(last, log_half, log_rest);
  return (bce * valid).sum(1) / valid.sum(1).clamp_min(1.0);
}

NmtSlothResult NmtSloth(Translator& model, const Vocabulary& vocab,
                        const std::vector<std::string>& sources, const NmtSlothOptions& o) {
  if (o.edits < 1 || o.edits > kMaxEdits || o.candidates < 1 || o.max_len < 1) {
    throw AttackError("attack 'nmtsloth': need edits in 1.." + std::to_string(kMaxEdits) +
                      ", candidates >= 1 and max_len >= 1; got edits " + std::to_string(o.edits) +
                      ", candidates " + std::to_string(o.candidates) + ", max_len " +
                      std::to_string(o.max_len));
  }
  const std::vector<Letter> letters = Letters(vocab);
  if (letters.empty()) {
    throw AttackError(
        "attack 'nmtsloth': the vocabulary has no single-byte ASCII characters to "
        "write (" +
        std::to_string(vocab.size()) + " tokens)");
  }
  torch::AutoGradMode grad_on(true);
  model->eval();
  FrozenParameters frozen(*model);
  const size_t n = sources.size();
  NmtSlothResult r;
  r.sources = sources;
  r.edits.assign(n, 0);
  if (n == 0) return r;
  {
    torch::NoGradGuard no_grad;
    r.steps_clean = model->Greedy(EncodeBatch(vocab, sources, false), o.max_len).steps;
  }
  const torch::Tensor weight = model->EmbeddingWeight().detach();  // [V, E]
  std::vector<size_t> active(n);
  for (size_t i = 0; i < n; ++i) active[i] = i;
  for (int64_t it = 0; it < o.edits && !active.empty(); ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    // Loss, gradient at the source embeddings and current steps of the active sources.
    std::vector<std::string> texts;
    for (size_t i : active) texts.push_back(r.sources[i]);
    torch::Tensor src = EncodeBatch(vocab, texts, false);
    torch::Tensor embedded = model->Embed(src).detach().requires_grad_(true);
    GreedyResult g = model->GreedyFromEmbedded(embedded, src != Vocabulary::kPad, o.max_len);
    torch::Tensor grad = torch::autograd::grad({NmtSlothLoss(g).sum()}, {embedded})[0];
    torch::Tensor rows = torch::matmul(grad, weight.t()).to(torch::kCPU, torch::kFloat64);
    auto rows_a = rows.accessor<double, 3>();  // [N, S, V]
    torch::Tensor src_host = src.cpu();
    auto ids_a = src_host.accessor<int64_t, 2>();
    std::vector<std::string> batch;
    std::vector<size_t> first(active.size() + 1, 0);
    for (size_t a = 0; a < active.size(); ++a) {
      const std::string& text = texts[a];
      std::vector<int64_t> ids(text.size() + 1);
      for (size_t j = 0; j <= text.size(); ++j) {
        ids[j] = ids_a[static_cast<int64_t>(a)][static_cast<int64_t>(j)];
      }
      for (auto& c : RankEdits(text, ids, rows_a[static_cast<int64_t>(a)], letters, o.candidates)) {
        batch.push_back(std::move(c));
      }
      first[a + 1] = batch.size();
    }
    std::vector<int64_t> cand_steps;
    std::vector<double> cand_loss;
    if (!batch.empty()) {
      torch::NoGradGuard no_grad;
      GreedyResult cg = model->Greedy(EncodeBatch(vocab, batch, false), o.max_len);
      cand_steps = cg.steps;
      cand_loss = ToDoubles(NmtSlothLoss(cg));
    }
    std::vector<size_t> still;
    for (size_t a = 0; a < active.size(); ++a) {
      size_t best = first[a];
      for (size_t c = first[a] + 1; c < first[a + 1]; ++c) {
        if (cand_steps[c] > cand_steps[best] ||
            (cand_steps[c] == cand_steps[best] && cand_loss[c] < cand_loss[best])) {
          best = c;
        }
      }
      if (best < first[a + 1] && cand_steps[best] > g.steps[a]) {
        r.sources[active[a]] = batch[best];
        ++r.edits[active[a]];
        still.push_back(active[a]);
      }
    }
    active = std::move(still);
  }
  torch::NoGradGuard no_grad;
  r.steps = model->Greedy(EncodeBatch(vocab, r.sources, false), o.max_len).steps;
  return r;
}

}  // namespace effrobust
