// Our side of the side-by-side comparison with the Python reference
// (bench/reference/, issue 8 section 1; the driver is
// bench/reference/compare.py). Two commands:
//  * export: for the multi-exit CNN and the captioner, writes one file each
//    that Python's torch.load reads (torch::pickle_save of a name -> tensor
//    dict): every parameter and buffer ("state.<name>"), the architecture
//    ("config.<key>"), the inputs both sides attack ("inputs.*") and our
//    outputs on the first inputs ("check.*": forward, loss, input gradient,
//    a short attack) so that the reference can show it computes the same.
//  * time: loads the victim from its checkpoint as a run does, attacks the
//    exported inputs with the attack's catalog defaults (iterations
//    overridable) through the same entry points as the executors, and
//    prints one "RESULT key=value ..." line.
// Single-threaded program; prints figures, asserts nothing.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "attacks/d2_params.h"
#include "attacks/deepsloth.h"
#include "attacks/nicg_slowdown.h"
#include "common/host_allocator.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "data/tensor_view.h"
#include "models/captioner_trainer.h"
#include "models/multi_exit_victim.h"
#include "models/victim_loader.h"

namespace effrobust {
namespace {

constexpr char kUsage[] =
    "usage: bench_reference export --sdn MODEL.pt --captioner MODEL.pt --out "
    "DIR [--samples N]\n"
    "       bench_reference time --family deepsloth|nicg --model MODEL.pt "
    "--data DIR\n"
    "                            [--batch B] [--calls C] [--iterations I] "
    "[--threads T]\n"
    "                            [--warmup-iterations W]\n"
    "export: writes DIR/sdn.pt and DIR/captioner.pt (parameters, buffers, "
    "config, the first N\n"
    "  Fashion-MNIST test images and test scenes (default 256), our reference "
    "outputs).\n"
    "time: attacks C batches of B exported inputs (call c takes inputs [c*B, "
    "c*B + B), wrapping\n"
    "  to 0) with I iterations (default: the catalog's) after one warm-up call "
    "of W iterations\n"
    "  (default 2) on the first batch, with T torch threads (default 1), and "
    "prints\n"
    "  RESULT side=cpp family=.. batch=.. calls=.. iterations=.. seconds=.. "
    "samples=.. work=..\n"
    "  work: sample-iterations (deepsloth) or sample decoder steps (nicg: B x "
    "the greedy steps\n"
    "  the batch ran, summed over iterations).\n"
    "Defaults of both attacks: bench/reference/compare.py --help; see "
    "docs/performance.md.\n";

constexpr int64_t kCheckSamples = 8;  // inputs whose outputs go into "check.*"
constexpr int64_t kCheckNicgIterations = 5;

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string key = argv[i];
      if (key.rfind("--", 0) != 0 || i + 1 >= argc) {
        throw std::invalid_argument("expected --key value, got '" + key + "'");
      }
      values_[key.substr(2)] = argv[++i];
    }
  }
  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = values_.find(key);
    if (it != values_.end()) return it->second;
    if (fallback.empty()) throw std::invalid_argument("missing --" + key);
    return fallback;
  }
  int64_t Int(const std::string& key, int64_t fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stoll(it->second);
  }

 private:
  std::map<std::string, std::string> values_;
};

void WriteDict(const c10::Dict<std::string, torch::Tensor>& dict, const std::string& path) {
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
}

// The tensor stored under `key` in a file written by WriteDict.
torch::Tensor ReadTensor(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read '" + path + "' (run `bench_reference export` first)");
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::impl::GenericDict dict = torch::pickle_load(bytes).toGenericDict();
  return dict.at(c10::IValue(key)).toTensor();
}

void AddState(torch::nn::Module& module, c10::Dict<std::string, torch::Tensor>* dict) {
  for (const auto& p : module.named_parameters()) {
    dict->insert("state." + p.key(), p.value().detach().clone());
  }
  for (const auto& b : module.named_buffers()) {
    dict->insert("state." + b.key(), b.value().detach().clone());
  }
}

torch::Tensor Scalar(int64_t v) { return torch::tensor(v, torch::kInt64); }

void ExportSdn(const std::string& model_path, const std::string& out_path, int64_t n) {
  LoadedVictim loaded = LoadVictim(model_path, "fashion-mnist");
  auto* victim = dynamic_cast<MultiExitVictim*>(loaded.victim.get());
  if (victim == nullptr) throw std::runtime_error("'" + model_path + "' is not a multi-exit CNN");
  const MultiExitConfig& cfg = victim->model()->config();
  c10::Dict<std::string, torch::Tensor> dict;
  AddState(victim->module(), &dict);
  dict.insert("config.channels", torch::tensor(cfg.channels, torch::kInt64));
  dict.insert("config.in_channels", Scalar(cfg.in_channels));
  dict.insert("config.image_size", Scalar(cfg.image_size));
  dict.insert("config.num_classes", Scalar(cfg.num_classes));

  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  torch::Tensor x = ImagesTensor(test, 0, n), y = LabelsTensor(test, 0, n);
  dict.insert("inputs.images", x);
  dict.insert("inputs.labels", y);

  torch::Tensor xc = x.slice(0, 0, kCheckSamples), yc = y.slice(0, 0, kCheckSamples);
  {
    torch::NoGradGuard no_grad;
    dict.insert("check.exit_logits", torch::stack(victim->Forward(xc, false).exit_logits));
  }
  {
    torch::AutoGradMode grad_on(true);
    torch::Tensor leaf = xc.clone().requires_grad_(true);
    torch::Tensor loss = DeepSlothLoss(victim->Forward(leaf, false).exit_logits);
    dict.insert("check.loss", loss.detach());
    dict.insert("check.grad", torch::autograd::grad({loss}, {leaf})[0]);
  }
  auto attack = MakeAttack("deepsloth", CompleteAttackParams("deepsloth", {}));
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < kCheckSamples; ++i) seeds.push_back(static_cast<uint64_t>(i));
  dict.insert("check.attack", attack->Run(*victim, xc, yc, seeds));
  WriteDict(dict, out_path);
}

void ExportCaptioner(const std::string& model_path, const std::string& out_path, int64_t n) {
  LoadedCaptioner loaded = LoadCaptioner(model_path);
  Captioner model = loaded.model;
  const CaptionerConfig& cfg = model->config();
  c10::Dict<std::string, torch::Tensor> dict;
  AddState(*model, &dict);
  dict.insert("config.lstm", Scalar(cfg.cell == "lstm" ? 1 : 0));
  dict.insert("config.image_size", Scalar(cfg.image_size));
  dict.insert("config.vocab", Scalar(cfg.vocab));
  dict.insert("config.channels", Scalar(cfg.channels));
  dict.insert("config.embed", Scalar(cfg.embed));
  dict.insert("config.hidden", Scalar(cfg.hidden));
  dict.insert("config.attention", Scalar(cfg.attention));

  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  SceneGenerator generator(test, SceneSplitSeed("test"));
  torch::Tensor x = SceneImages(MakeScenes(generator, 0, n));
  dict.insert("inputs.images", x);

  NicgSlowDownOptions o = NicgSlowDownOptionsFromParams(CompleteAttackParams("nicgslowdown", {}));
  torch::Tensor xc = x.slice(0, 0, kCheckSamples);
  {
    torch::AutoGradMode grad_on(true);
    torch::Tensor leaf = xc.clone().requires_grad_(true);
    GreedyResult g = model->Greedy(leaf, o.max_len);
    torch::Tensor loss = NicgSlowDownLoss(g);
    dict.insert("check.greedy_logits", g.logits.detach());
    dict.insert("check.greedy_steps", torch::tensor(g.steps, torch::kInt64));
    dict.insert("check.loss", loss.detach());
    dict.insert("check.grad", torch::autograd::grad({loss.sum()}, {leaf})[0]);
  }
  o.iterations = kCheckNicgIterations;
  NicgSlowDownResult r = NicgSlowDown(model, xc, o);
  dict.insert("check.attack", r.images);
  dict.insert("check.attack_steps", torch::tensor(r.steps, torch::kInt64));
  dict.insert("check.attack_iterations", Scalar(o.iterations));
  WriteDict(dict, out_path);
}

// Start of call c's batch of b among n inputs (the Python reference uses
// the same rule).
int64_t BatchStart(int64_t c, int64_t b, int64_t n) {
  const int64_t start = (c * b) % n;
  return start + b > n ? 0 : start;
}

struct Timing {
  double seconds = 0;
  double work = 0;
};

Timing TimeDeepSloth(const Args& args, int64_t batch, int64_t calls, int64_t iterations,
                     int64_t warmup) {
  LoadedVictim loaded = LoadVictim(args.Get("model"), "fashion-mnist");
  const std::string data = args.Get("data") + "/sdn.pt";
  torch::Tensor x = ReadTensor(data, "inputs.images"), y = ReadTensor(data, "inputs.labels");
  const int64_t n = x.size(0);
  if (batch > n) throw std::invalid_argument("batch larger than the exported inputs");
  auto make = [](int64_t it) {
    return MakeAttack("deepsloth",
                      CompleteAttackParams("deepsloth", {{"iterations", std::to_string(it)}}));
  };
  auto run = [&](Attack& attack, int64_t c) {
    const int64_t s = BatchStart(c, batch, n);
    std::vector<uint64_t> seeds;
    for (int64_t i = s; i < s + batch; ++i) seeds.push_back(static_cast<uint64_t>(i));
    attack.Run(*loaded.victim, x.slice(0, s, s + batch), y.slice(0, s, s + batch), seeds);
  };
  if (warmup > 0) run(*make(warmup), 0);
  auto attack = make(iterations);
  Timing t;
  const double t0 = MonotonicSeconds();
  for (int64_t c = 0; c < calls; ++c) run(*attack, c);
  t.seconds = MonotonicSeconds() - t0;
  t.work = static_cast<double>(calls * batch * iterations);
  return t;
}

Timing TimeNicg(const Args& args, int64_t batch, int64_t calls, int64_t iterations,
                int64_t warmup) {
  LoadedCaptioner loaded = LoadCaptioner(args.Get("model"));
  torch::Tensor x = ReadTensor(args.Get("data") + "/captioner.pt", "inputs.images");
  const int64_t n = x.size(0);
  if (batch > n) throw std::invalid_argument("batch larger than the exported inputs");
  NicgSlowDownOptions o = NicgSlowDownOptionsFromParams(CompleteAttackParams("nicgslowdown", {}));
  if (warmup > 0) {
    o.iterations = warmup;
    NicgSlowDown(loaded.model, x.slice(0, 0, batch), o);
  }
  o.iterations = iterations;
  Timing t;
  const double t0 = MonotonicSeconds();
  for (int64_t c = 0; c < calls; ++c) {
    const int64_t s = BatchStart(c, batch, n);
    NicgSlowDownResult r = NicgSlowDown(loaded.model, x.slice(0, s, s + batch), o);
    t.work += static_cast<double>(r.batch_steps * batch);
  }
  t.seconds = MonotonicSeconds() - t0;
  return t;
}

int Time(const Args& args) {
  const std::string family = args.Get("family");
  const int64_t threads = args.Int("threads", 1);
  torch::set_num_threads(static_cast<int>(threads));
  const int64_t batch = args.Int("batch", 32), calls = args.Int("calls", 1);
  const int64_t warmup = args.Int("warmup-iterations", 2);
  Timing t;
  int64_t iterations = 0;
  if (family == "deepsloth") {
    iterations = args.Int("iterations", 30);
    t = TimeDeepSloth(args, batch, calls, iterations, warmup);
  } else if (family == "nicg") {
    iterations = args.Int("iterations", 100);
    t = TimeNicg(args, batch, calls, iterations, warmup);
  } else {
    throw std::invalid_argument("--family must be deepsloth or nicg, got '" + family + "'");
  }
  std::printf(
      "RESULT side=cpp family=%s batch=%lld calls=%lld iterations=%lld "
      "threads=%lld "
      "seconds=%.6f samples=%lld work=%.0f\n",
      family.c_str(), static_cast<long long>(batch), static_cast<long long>(calls),
      static_cast<long long>(iterations), static_cast<long long>(threads), t.seconds,
      static_cast<long long>(batch * calls), t.work);
  return 0;
}

int Export(const Args& args) {
  torch::set_num_threads(static_cast<int>(args.Int("threads", 1)));
  const int64_t n = args.Int("samples", 256);
  const std::string out = args.Get("out");
  ExportSdn(args.Get("sdn"), out + "/sdn.pt", n);
  ExportCaptioner(args.Get("captioner"), out + "/captioner.pt", n);
  std::printf(
      "bench_reference: exported %lld inputs per family to %s/sdn.pt, "
      "%s/captioner.pt\n",
      static_cast<long long>(n), out.c_str(), out.c_str());
  return 0;
}

}  // namespace
}  // namespace effrobust

int main(int argc, char** argv) {
  effrobust::TuneHostAllocator();  // as the effrobust binary does
  using namespace effrobust;
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h") {
    std::printf("%s", kUsage);
    return 0;
  }
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
  }
  try {
    const Args args(argc, argv, 2);
    if (command == "export") return Export(args);
    if (command == "time") return Time(args);
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bench_reference: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_reference: %s\n", e.what());
    return 1;
  }
}
