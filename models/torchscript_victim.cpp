#include "models/torchscript_victim.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "data/cifar10.h"
#include "evaluation/d1_summary.h"
#include "evaluation/early_exit.h"
#include "models/families.h"
#include "models/multi_exit_victim.h"
#include "models/script_module.h"

namespace effrobust {
namespace {

using script::Attr;
using script::CheckShape;
using script::Fail;
using script::FloatAttr;
using script::FloatListAttr;
using script::IntAttr;
using script::RequireMethod;
using script::Shape;
using script::TensorList;
using script::TensorOf;
using script::Tuple;

bool IsD1Family(const std::string& family) {
  return family == kFamilyEarlyExit || family == kFamilySkipGate || family == kFamilyAdaptiveToken;
}

// What each family needs from the module, read once at load.
struct Contract : script::Where {
  int64_t in_channels = 0, image_size = 0, num_classes = 0;
  std::vector<double> stage_flops;  // per exit (increments) / gated block / layer
  double base_flops = 0;            // skip_gate, adaptive_token: always-run part
  std::map<std::string, double> thresholds;
  bool has_infer = false;
};

const char* MethodOf(const std::string& family) {
  if (family == kFamilyEarlyExit) return "forward_exits";
  if (family == kFamilySkipGate) return "forward_gated";
  return "forward_halting";
}

// One pass of the contract method, unpacked and checked.
struct Pass {
  std::vector<torch::Tensor> exit_logits;  // early_exit
  torch::Tensor logits;
  std::vector<torch::Tensor> gates;       // skip_gate
  torch::Tensor ponder, halting, active;  // adaptive_token
  std::vector<torch::Tensor> features;
};

class TorchScriptVictim : public VictimModel {
 public:
  TorchScriptVictim(ScriptHolder holder, Contract contract)
      : holder_(std::move(holder)), c_(std::move(contract)) {}

  std::string family() const override { return c_.family; }
  int64_t in_channels() const override { return c_.in_channels; }
  int64_t image_size() const override { return c_.image_size; }
  int64_t num_classes() const override { return c_.num_classes; }
  torch::nn::Module& module() override { return *holder_; }

  VictimOutputs Forward(const torch::Tensor& x, bool keep_activations) override {
    Pass p = Run(x);
    VictimOutputs out;
    out.logits = p.logits;
    out.exit_logits = p.exit_logits;
    out.gates = p.gates;
    out.ponder = p.ponder;
    out.halting = p.halting;
    if (keep_activations) out.activations = p.features;
    return out;
  }

  std::vector<std::string> OperatingPoints() const override {
    if (c_.family != kFamilyEarlyExit) return {""};
    std::vector<std::string> points;
    for (const auto& [point, q] : c_.thresholds) points.push_back(point);
    return points;
  }

  std::string metric_name() const override {
    if (c_.family == kFamilyEarlyExit) return "exit";
    if (c_.family == kFamilySkipGate) return "blocks_run";
    return "token_depth";
  }

  DynamicResult Measure(const torch::Tensor& x, const std::string& point) override {
    if (c_.family == kFamilyEarlyExit) return MeasureExits(x, Threshold(point));
    CheckSinglePoint(point);
    Pass p = Run(x);
    const int64_t n = x.size(0);
    CostLedger ledger(n);
    LayerUse base;
    base.input = x;
    base.output = p.logits;
    base.flops = c_.base_flops;
    base.macs = c_.base_flops / 2;
    ledger.Add(base);
    torch::Tensor metric = torch::zeros({n}, torch::kFloat64);
    for (size_t j = 0; j < p.features.size(); ++j) {
      LayerUse use;
      use.input = j == 0 ? x : p.features[j - 1];
      use.output = p.features[j];
      use.flops = c_.stage_flops[j];
      use.macs = c_.stage_flops[j] / 2;
      if (c_.family == kFamilySkipGate) {
        use.share = (p.gates[j].detach() > 0.5).to(torch::kFloat64).cpu();
        metric += use.share;
      } else {
        const double tokens = static_cast<double>(p.halting.size(2));
        use.share = (p.active.detach().select(1, j).to(torch::kFloat64) / tokens).cpu();
        metric += use.share / static_cast<double>(p.features.size());
      }
      ledger.Add(use);
    }
    metric = metric.contiguous();
    torch::Tensor pred = p.logits.argmax(1).cpu().contiguous();
    DynamicResult r;
    r.pred.assign(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + n);
    r.metric.assign(metric.data_ptr<double>(), metric.data_ptr<double>() + n);
    r.cost = ledger.Totals();
    return r;
  }

  void InferOne(const torch::Tensor& x, const std::string& point) override {
    std::vector<torch::IValue> args{x};
    if (c_.family == kFamilyEarlyExit) {
      args.emplace_back(Threshold(point));
      args.emplace_back(exit_cap_ > 0 ? exit_cap_ : static_cast<int64_t>(c_.stage_flops.size()));
    } else {
      CheckSinglePoint(point);
    }
    if (c_.has_infer) {
      holder_->script.get_method("infer")(args);
    } else {
      Run(x);
    }
  }

  double full_flops() const override {
    double f = c_.base_flops;
    for (double s : c_.stage_flops) f += s;
    return f;
  }

  void SetExitCap(int64_t k) override {
    if (c_.family != kFamilyEarlyExit) VictimModel::SetExitCap(k);
    if (k < 0) throw ModelError("exit cap must be >= 0 (0: no cap), got " + std::to_string(k));
    exit_cap_ = k;
  }

  // Runs the contract method and checks what it returned against the
  // contract (types, list lengths, shapes for a batch of x.size(0)).
  Pass Run(const torch::Tensor& x) {
    const std::string method = MethodOf(c_.family);
    torch::IValue v;
    try {
      v = holder_->script.get_method(method)({x});
    } catch (const c10::Error& e) {
      Fail(c_, "method '" + method + "' failed on input " + Shape(x) + ": " +
                   e.what_without_backtrace());
    } catch (const std::exception& e) {
      Fail(c_, "method '" + method + "' failed on input " + Shape(x) + ": " + e.what());
    }
    const int64_t b = x.size(0);
    const int64_t k = static_cast<int64_t>(c_.stage_flops.size());
    const std::string per = c_.family == kFamilyEarlyExit  ? " (one per exit_flops entry)"
                            : c_.family == kFamilySkipGate ? " (one per block_flops entry)"
                                                           : " (one per layer_flops entry)";
    Pass p;
    if (c_.family == kFamilyEarlyExit) {
      auto t = Tuple(c_, method, v, 2);
      p.exit_logits = TensorList(c_, method + " exit logits", t[0]);
      p.features = TensorList(c_, method + " stage features", t[1]);
      if (static_cast<int64_t>(p.exit_logits.size()) != k) {
        Fail(c_, "method '" + method + "' returned " + std::to_string(p.exit_logits.size()) +
                     " exit logits, expected " + std::to_string(k) + per);
      }
      for (int64_t j = 0; j < k; ++j) {
        CheckShape(c_, method + " exit logits[" + std::to_string(j) + "]", p.exit_logits[j],
                   {b, c_.num_classes});
      }
      p.logits = p.exit_logits.back();
    } else if (c_.family == kFamilySkipGate) {
      auto t = Tuple(c_, method, v, 3);
      p.logits = TensorOf(c_, method + " logits", t[0]);
      p.gates = TensorList(c_, method + " gates", t[1]);
      p.features = TensorList(c_, method + " block features", t[2]);
      CheckShape(c_, method + " logits", p.logits, {b, c_.num_classes});
      if (static_cast<int64_t>(p.gates.size()) != k) {
        Fail(c_, "method '" + method + "' returned " + std::to_string(p.gates.size()) +
                     " gates, expected " + std::to_string(k) + per);
      }
      for (int64_t j = 0; j < k; ++j) {
        CheckShape(c_, method + " gates[" + std::to_string(j) + "]", p.gates[j], {b});
      }
    } else {
      auto t = Tuple(c_, method, v, 5);
      p.logits = TensorOf(c_, method + " logits", t[0]);
      p.ponder = TensorOf(c_, method + " ponder", t[1]);
      p.halting = TensorOf(c_, method + " halting", t[2]);
      p.active = TensorOf(c_, method + " active", t[3]);
      p.features = TensorList(c_, method + " layer features", t[4]);
      CheckShape(c_, method + " logits", p.logits, {b, c_.num_classes});
      CheckShape(c_, method + " halting", p.halting, {b, k, -1});
      const int64_t tokens = p.halting.size(2);
      CheckShape(c_, method + " ponder", p.ponder, {b, tokens});
      CheckShape(c_, method + " active", p.active, {b, k});
    }
    if (static_cast<int64_t>(p.features.size()) != k) {
      Fail(c_, "method '" + method + "' returned " + std::to_string(p.features.size()) +
                   " features, expected " + std::to_string(k) + per);
    }
    for (int64_t j = 0; j < k; ++j) {
      if (!p.features[j].defined() || p.features[j].dim() < 1 || p.features[j].size(0) != b) {
        Fail(c_, method + " features[" + std::to_string(j) + "] has shape " + Shape(p.features[j]) +
                     ", expected [" + std::to_string(b) + ", ...]");
      }
    }
    return p;
  }

 private:
  double Threshold(const std::string& point) const {
    auto it = c_.thresholds.find(point);
    if (it == c_.thresholds.end()) {
      std::string known;
      for (const auto& [p, q] : c_.thresholds) known += (known.empty() ? "" : ", ") + p;
      throw ModelError(script::Describe(c_) + " has no operating point '" + point + "' (has: " + known + ")");
    }
    return it->second;
  }

  void CheckSinglePoint(const std::string& point) const {
    if (!point.empty()) {
      throw ModelError(script::Describe(c_) + " has no operating point '" + point + "' (has only \"\")");
    }
  }

  // As MultiExitVictim::Measure (EarlyExitDecisions), with the ledger filled
  // from the contract's per-exit FLOPs.
  DynamicResult MeasureExits(const torch::Tensor& x, double q) {
    Pass p = Run(x);
    const int64_t n = x.size(0);
    const int k = static_cast<int>(p.exit_logits.size());
    CostLedger ledger(n);
    for (int j = 0; j < k; ++j) {
      LayerUse use;
      use.input = j == 0 ? x : p.features[j - 1];
      use.output = p.features[j];
      use.flops = c_.stage_flops[j];
      use.macs = c_.stage_flops[j] / 2;
      use.stage = j;
      ledger.Add(use);
    }
    return EarlyExitDecisions(p.exit_logits, q, exit_cap_, ledger);
  }

  ScriptHolder holder_;
  Contract c_;
  int64_t exit_cap_ = 0;
};

// The D1 executor runs classifiers on fashion-mnist (1x28x28) and cifar10
// (3x32x32), 10 classes each: the declared input and classes must be the
// dataset's.
void CheckDataset(const Contract& c, const std::string& dataset) {
  if (dataset.empty()) return;
  int64_t channels = 0;
  int64_t side = 0;
  if (dataset == "fashion-mnist") {
    channels = 1;
    side = 28;
  } else if (dataset == kCifar10Dataset) {
    channels = 3;
    side = kCifar10Side;
  } else {
    Fail(c, "dataset '" + dataset +
                "' is not one a D1 victim runs on (allowed: fashion-mnist, cifar10)");
  }
  if (c.in_channels != channels || c.image_size != side || c.num_classes != 10) {
    Fail(c, "declares " + std::to_string(c.in_channels) + "x" + std::to_string(c.image_size) +
                "x" + std::to_string(c.image_size) + " inputs and " +
                std::to_string(c.num_classes) + " classes, but dataset '" + dataset + "' has " +
                std::to_string(channels) + "x" + std::to_string(side) + "x" +
                std::to_string(side) + " images and 10 classes");
  }
}

}  // namespace

bool IsTorchScriptVictimFile(const std::string& path) {
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord("data.pkl")) return false;
    auto [data, size] = reader.getRecord("data.pkl");
    const std::string pkl(static_cast<const char*>(data.get()), size);
    return pkl.find("effrobust_family") != std::string::npos;
  } catch (const std::exception&) {
    return false;
  }
}

std::string TorchScriptFamilyOf(const std::string& path) {
  if (!IsTorchScriptVictimFile(path)) return "";
  try {
    torch::jit::Module m = torch::jit::load(path, torch::kCPU);
    if (!m.hasattr("effrobust_family") || !m.attr("effrobust_family").isString()) return "";
    return m.attr("effrobust_family").toStringRef();
  } catch (const std::exception&) {
    return "";
  }
}

LoadedVictim LoadTorchScriptVictim(const std::string& path, const std::string& family,
                                   const std::string& dataset) {
  Contract c;
  torch::jit::Module m = script::Load(path, family, &c);
  if (!IsD1Family(c.family)) {
    Fail(c, "family '" + c.family + "' is not a D1 classifier family (allowed here: " +
                "early_exit, skip_gate, adaptive_token; captioners and detectors load as "
                "TorchScript captioners and detectors)");
  }
  c.in_channels = IntAttr(c, m, "in_channels");
  c.image_size = IntAttr(c, m, "image_size");
  c.num_classes = IntAttr(c, m, "num_classes");
  ModelMetadata meta;
  if (c.family == kFamilyEarlyExit) {
    RequireMethod(c, m, "forward_exits", 1,
                  "forward_exits(self, x: Tensor) -> Tuple[List[Tensor], List[Tensor]]");
    meta.exit_flops = FloatListAttr(c, m, "exit_flops");
    for (size_t j = 0; j < meta.exit_flops.size(); ++j) {
      const double prev = j == 0 ? 0 : meta.exit_flops[j - 1];
      if (meta.exit_flops[j] < prev) {
        Fail(c, "attribute 'exit_flops' must be cumulative (non-decreasing), entry " +
                    std::to_string(j) + " is smaller than entry " + std::to_string(j - 1));
      }
      c.stage_flops.push_back(meta.exit_flops[j] - prev);
    }
    const torch::IValue t = Attr(c, m, "exit_thresholds", "Dict[str, float]");
    if (!t.isGenericDict()) {
      Fail(c, "attribute 'exit_thresholds' must be a Dict[str, float], got " + t.tagKind());
    }
    for (const auto& e : t.toGenericDict()) {
      if (!e.key().isString() || !(e.value().isDouble() || e.value().isInt())) {
        Fail(c, "attribute 'exit_thresholds' must be a Dict[str, float]");
      }
      c.thresholds[e.key().toStringRef()] =
          e.value().isDouble() ? e.value().toDouble() : static_cast<double>(e.value().toInt());
    }
    for (const auto& [rad, unused] : RadLevels()) {
      if (!c.thresholds.count(rad)) {
        Fail(c, "attribute 'exit_thresholds' has no key '" + rad +
                    "' (required: rad5, rad15; the RAD thresholds in (0, 1])");
      }
    }
    meta.thresholds = c.thresholds;
  } else if (c.family == kFamilySkipGate) {
    RequireMethod(c, m, "forward_gated", 1,
                  "forward_gated(self, x: Tensor) -> Tuple[Tensor, List[Tensor], List[Tensor]]");
    c.stage_flops = FloatListAttr(c, m, "block_flops");
    c.base_flops = FloatAttr(c, m, "base_flops");
  } else {
    RequireMethod(c, m, "forward_halting", 1,
                  "forward_halting(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, "
                  "List[Tensor]]");
    c.stage_flops = FloatListAttr(c, m, "layer_flops");
    c.base_flops = FloatAttr(c, m, "base_flops");
  }
  if (m.find_method("infer")) {
    RequireMethod(c, m, "infer", c.family == kFamilyEarlyExit ? 3 : 1,
                  c.family == kFamilyEarlyExit
                      ? "infer(self, x: Tensor, q: float, max_exits: int) -> Tensor"
                      : "infer(self, x: Tensor) -> Tensor");
    c.has_infer = true;
  }
  CheckDataset(c, dataset);
  m.eval();
  ScriptHolder holder(m);
  auto victim = std::make_unique<TorchScriptVictim>(holder, c);
  {
    // The contract, checked on a batch of 2 zero images of the declared size.
    torch::NoGradGuard no_grad;
    victim->Run(torch::zeros({2, c.in_channels, c.image_size, c.image_size}));
  }
  LoadedVictim loaded;
  loaded.victim = std::move(victim);
  loaded.victim->module().eval();
  for (auto& p : loaded.victim->module().parameters()) p.set_requires_grad(false);
  meta.name = std::filesystem::path(path).stem().string();
  meta.arch = kArchTorchScript;
  meta.dataset = dataset;
  meta.config.in_channels = c.in_channels;
  meta.config.image_size = c.image_size;
  meta.config.num_classes = c.num_classes;
  loaded.meta = meta;
  return loaded;
}

}  // namespace effrobust
