#include "workers/d1_executor.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "attacks/attack.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "evaluation/d1_summary.h"
#include "evaluation/early_exit.h"
#include "evaluation/latency.h"
#include "models/checkpoint.h"
#include "models/trainer.h"

namespace effrobust {
namespace {

// First line of a command's output ("" on failure).
std::string CommandLine(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[256];
    if (fgets(buf, sizeof(buf), p)) out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The CPU model (from /proc/cpuinfo) or the GPU name (nvidia-smi; the CPU
// build of LibTorch has no CUDA device-property API).
std::string DeviceName(const torch::Device& device) {
  if (device.is_cuda()) {
    std::string name = CommandLine("nvidia-smi --query-gpu=name --format=csv,noheader -i " +
                                   std::to_string(device.index()) + " 2>/dev/null");
    return name.empty() ? "CUDA device " + std::to_string(device.index()) : name;
  }
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "cpu";
}

class D1Executor : public UnitExecutor {
 public:
  explicit D1Executor(const ExecutorPlacement& p) : placement_(p) {}

  std::string held_model() const override { return held_model_; }

  Output Execute(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                 UnitContext& context) override {
    Configure(options);
    LoadModelFor(unit);
    const ImageSet& set = Dataset(unit.dataset, unit.split);
    torch::Tensor x = ImagesTensor(set, unit.begin, unit.end);
    torch::Tensor y = LabelsTensor(set, unit.begin, unit.end);
    const int64_t n = x.size(0);

    // Per-sample random streams from (experiment seed, unit id, sample id).
    const uint64_t unit_hash = Fnv1a64(unit.id);
    std::vector<uint64_t> seeds(n);
    for (int64_t i = 0; i < n; ++i) {
      seeds[i] = MixSeed(static_cast<uint64_t>(unit.seed), unit_hash,
                         static_cast<uint64_t>(unit.begin + i));
    }

    std::unique_ptr<Attack> attack = MakeAttack(unit.attack, unit.params);
    auto& model = loaded_.model;
    std::vector<torch::Tensor> adv_parts;
    const int64_t bs = std::max<int64_t>(1, options.measure.batch_size);
    for (int64_t b = 0; b < n; b += bs) {
      const int64_t e = std::min(n, b + bs);
      std::vector<uint64_t> batch_seeds(seeds.begin() + b, seeds.begin() + e);
      context.Checkpoint();
      torch::Tensor xb = x.slice(0, b, e).to(device_);
      torch::Tensor yb = y.slice(0, b, e).to(device_);
      adv_parts.push_back(attack->Run(model, xb, yb, batch_seeds).detach().to(torch::kCPU));
    }
    torch::Tensor x_adv = torch::cat(adv_parts, 0).contiguous();

    torch::NoGradGuard no_grad;
    const auto& meta = loaded_.meta;
    const int k = static_cast<int>(meta.exit_flops.size());
    // Confidence and prediction of every exit, clean and adversarial.
    auto exits_of = [&](const torch::Tensor& inputs, torch::Tensor* conf, torch::Tensor* pred) {
      std::vector<torch::Tensor> confs, preds;
      for (int64_t b = 0; b < n; b += bs) {
        context.Checkpoint();
        auto logits = model->ForwardAll(inputs.slice(0, b, std::min(n, b + bs)).to(device_));
        std::vector<torch::Tensor> c, p;
        for (auto& l : logits) {
          auto [mx, arg] = torch::softmax(l.to(torch::kFloat64), 1).max(1);
          c.push_back(mx);
          p.push_back(arg);
        }
        confs.push_back(torch::stack(c, 1).to(torch::kCPU));
        preds.push_back(torch::stack(p, 1).to(torch::kCPU));
      }
      *conf = torch::cat(confs, 0).contiguous();
      *pred = torch::cat(preds, 0).contiguous();
    };
    torch::Tensor conf_clean, pred_clean, conf_adv, pred_adv;
    exits_of(x, &conf_clean, &pred_clean);
    exits_of(x_adv, &conf_adv, &pred_adv);

    RowBatch rows;
    std::vector<int64_t> sample_index(n), labels(n), final_clean(n), final_adv(n);
    auto lab = y.accessor<int64_t, 1>();
    auto pc = pred_clean.accessor<int64_t, 2>();
    auto pa = pred_adv.accessor<int64_t, 2>();
    for (int64_t i = 0; i < n; ++i) {
      sample_index[i] = unit.begin + i;
      labels[i] = lab[i];
      final_clean[i] = pc[i][k - 1];
      final_adv[i] = pa[i][k - 1];
    }
    rows.AddInt("sample_index", sample_index);
    rows.AddInt("label", labels);
    rows.AddInt("pred_clean", final_clean);
    rows.AddInt("pred_adv", final_adv);

    auto cc = conf_clean.accessor<double, 2>();
    auto ca = conf_adv.accessor<double, 2>();
    for (const auto& [rad, unused] : RadLevels()) {
      auto it = meta.thresholds.find(rad);
      if (it == meta.thresholds.end()) {
        throw WorkerError("model '" + unit.model + "' has no threshold '" + rad + "' in its metadata");
      }
      const double q = it->second;
      std::vector<int64_t> exit_c(n), exit_a(n), ee_c(n), ee_a(n);
      std::vector<double> flops_c(n), flops_a(n), lat_c(n), lat_a(n);
      for (int64_t i = 0; i < n; ++i) {
        if (i % 16 == 0) context.Checkpoint();
        std::vector<double> vc(k), va(k);
        for (int j = 0; j < k; ++j) {
          vc[j] = cc[i][j];
          va[j] = ca[i][j];
        }
        exit_c[i] = ExitIndex(vc, q);
        exit_a[i] = ExitIndex(va, q);
        ee_c[i] = pc[i][exit_c[i]];
        ee_a[i] = pa[i][exit_a[i]];
        flops_c[i] = meta.exit_flops[exit_c[i]];
        flops_a[i] = meta.exit_flops[exit_a[i]];
        lat_c[i] = Latency(x[i].unsqueeze(0), q, options);
        lat_a[i] = Latency(x_adv[i].unsqueeze(0), q, options);
      }
      rows.AddInt("exit_clean_" + rad, exit_c);
      rows.AddInt("exit_adv_" + rad, exit_a);
      rows.AddInt("eepred_clean_" + rad, ee_c);
      rows.AddInt("eepred_adv_" + rad, ee_a);
      rows.AddReal("flops_clean_" + rad, flops_c);
      rows.AddReal("flops_adv_" + rad, flops_a);
      rows.AddReal("latency_clean_ms_" + rad, lat_c);
      rows.AddReal("latency_adv_ms_" + rad, lat_a);
    }
    torch::Tensor delta = (x_adv - x).flatten(1).to(torch::kFloat64);
    torch::Tensor linf = delta.abs().amax(1).contiguous();
    torch::Tensor l2 = delta.norm(2, 1).contiguous();
    rows.AddReal("linf", std::vector<double>(linf.data_ptr<double>(), linf.data_ptr<double>() + n));
    rows.AddReal("l2", std::vector<double>(l2.data_ptr<double>(), l2.data_ptr<double>() + n));
    if (options.measure.store_adversarial) {
      TensorBlock& t = rows.tensor();
      t.name = "adversarial";
      t.row_shape.assign(x_adv.sizes().begin() + 1, x_adv.sizes().end());
      torch::Tensor f = x_adv.to(torch::kFloat32).contiguous();
      t.data.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    Output out;
    out.rows = shard.Append(unit.id, rows);
    out.metrics = SummarizeD1(rows, meta.exit_flops);
    out.device = device_.str();
    out.device_name = device_name_;
    return out;
  }

 private:
  void Configure(const RunOptions& options) {
    if (configured_) return;
    configured_ = true;
    int threads = options.threads;
    if (threads <= 0) {
      // Under Slurm the task's CPUs (--cpus-per-task); else the node's cores
      // shared by the workers on it.
      const char* slurm_cpus = std::getenv("SLURM_CPUS_PER_TASK");
      const int from_slurm = slurm_cpus ? std::atoi(slurm_cpus) : 0;
      const int hw = std::max(1u, std::thread::hardware_concurrency());
      threads = from_slurm > 0 ? from_slurm : std::max(1, hw / std::max(1, placement_.local_workers));
    }
    torch::set_num_threads(threads);
    if (options.device == "cuda" && !torch::cuda::is_available()) {
      throw WorkerError("device 'cuda' requested but no CUDA device is available to this LibTorch "
                        "(use device: auto or cpu)");
    }
    if (options.device != "cpu" && torch::cuda::is_available()) {
      const int count = static_cast<int>(torch::cuda::device_count());
      device_ = torch::Device(torch::kCUDA, placement_.local_index % count);
    }
    device_name_ = DeviceName(device_);
    LogInfo("worker uses " + device_.str() + " (" + device_name_ + ") with " +
            std::to_string(threads) + " thread(s)");
  }

  void LoadModelFor(const WorkUnit& unit) {
    const std::string key = unit.model_path + "#" + unit.model_hash;
    if (key == held_key_) return;
    loaded_ = LoadModel(unit.model_path, "multi_exit_cnn", unit.dataset);
    loaded_.model->to(device_);
    loaded_.model->eval();
    for (auto& p : loaded_.model->parameters()) p.set_requires_grad(false);
    held_key_ = key;
    held_model_ = unit.model;
    LogInfo("loaded model '" + unit.model + "' from " + unit.model_path);
  }

  const ImageSet& Dataset(const std::string& name, const std::string& split) {
    const std::string key = name + "/" + split;
    auto it = data_.find(key);
    if (it != data_.end()) return it->second;
    if (name != "fashion-mnist") throw WorkerError("unknown dataset '" + name + "'");
    return data_.emplace(key, LoadFashionMnist(DefaultFashionMnistDir(), split)).first->second;
  }

  double Latency(const torch::Tensor& sample, double q, const RunOptions& options) {
    if (options.measure.latency_repeats <= 0) return std::nan("");
    torch::Tensor s = sample.to(device_);
    auto& model = loaded_.model;
    const bool cuda = device_.is_cuda();
    return MedianLatencyMs(
        [&] {
          model->ForwardEarlyExit(s, q);
          if (cuda) torch::cuda::synchronize();
        },
        options.measure.latency_warmup, options.measure.latency_repeats);
  }

  ExecutorPlacement placement_;
  bool configured_ = false;
  torch::Device device_ = torch::kCPU;
  std::string device_name_;
  LoadedModel loaded_;
  std::string held_key_;
  std::string held_model_;
  std::map<std::string, ImageSet> data_;
};

}  // namespace

std::unique_ptr<UnitExecutor> MakeD1Executor(const ExecutorPlacement& placement) {
  return std::make_unique<D1Executor>(placement);
}

void CheckModelLoads(const std::string& path, const std::string& dataset) {
  LoadedModel loaded = LoadModel(path, "multi_exit_cnn", dataset);
  for (const auto& [rad, unused] : RadLevels()) {
    if (!loaded.meta.thresholds.count(rad)) {
      throw ModelError("model file '" + path + "' has no threshold '" + rad + "' in its metadata");
    }
  }
  const size_t exits = loaded.meta.config.channels.size();
  if (loaded.meta.exit_flops.size() != exits || exits == 0) {
    throw ModelError("model file '" + path + "' lists " + std::to_string(loaded.meta.exit_flops.size()) +
                     " exit FLOPs figures for " + std::to_string(exits) + " exits");
  }
}

std::string TorchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

void TrainAndSaveModel(const TrainRequest& r) {
  if (!r.force && std::filesystem::exists(r.out_path)) {
    throw ModelError("'" + r.out_path + "' already exists; pass --force to replace it");
  }
  const int threads = r.threads > 0 ? r.threads : std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  const std::string dir = r.data_dir.empty() ? DefaultFashionMnistDir() : r.data_dir;
  LogInfo("loading Fashion-MNIST from " + dir);
  ImageSet train = LoadFashionMnist(dir, "train");
  ImageSet test = LoadFashionMnist(dir, "test");
  TrainOptions o;
  o.name = r.name;
  o.epochs = r.epochs;
  o.seed = r.seed;
  o.max_train = r.max_train;
  const double t0 = MonotonicSeconds();
  o.progress = [&](int epoch, int64_t batch, int64_t batches, double loss) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "[train] epoch %d/%d batch %lld/%lld loss %.4f (%.0f s)",
                  epoch + 1, r.epochs, static_cast<long long>(batch),
                  static_cast<long long>(batches), loss, MonotonicSeconds() - t0);
    LogInfo(buf);
  };
  LogInfo("training '" + r.name + "' for " + std::to_string(r.epochs) + " epoch(s) on " +
          std::to_string(threads) + " thread(s)");
  TrainResult result = TrainMultiExit(train, test, o);
  std::filesystem::path parent = std::filesystem::path(r.out_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  SaveModel(r.out_path, result.model, result.meta, r.force);
  std::string acc;
  for (double a : result.meta.exit_accuracy) acc += " " + FormatNumber(std::round(a * 1e4) / 1e4);
  std::string flops;
  for (double f : result.meta.exit_flops) flops += " " + FormatNumber(std::round(f));
  LogInfo("saved " + r.out_path + " in " + std::to_string(static_cast<int>(MonotonicSeconds() - t0)) +
          " s: per-exit test accuracy" + acc + "; FLOPs" + flops + "; q(rad5)=" +
          FormatNumber(result.meta.thresholds["rad5"]) + " q(rad15)=" +
          FormatNumber(result.meta.thresholds["rad15"]));
}

}  // namespace effrobust
