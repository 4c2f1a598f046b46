#include "attacks/catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "common/error.h"

namespace effrobust {
namespace {

using Kind = ParamSpec::Kind;

ParamSpec Real(const std::string& name, double lo, double hi,
               std::vector<std::pair<std::string, std::string>> defaults,
               std::vector<std::string> norms, const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.kind = Kind::kReal;
  p.min = lo;
  p.max = hi;
  p.defaults = std::move(defaults);
  p.norms = std::move(norms);
  p.help = help;
  return p;
}

ParamSpec Int(const std::string& name, double lo, double hi,
              std::vector<std::pair<std::string, std::string>> defaults,
              std::vector<std::string> norms, const std::string& help) {
  ParamSpec p = Real(name, lo, hi, std::move(defaults), std::move(norms), help);
  p.kind = Kind::kInt;
  return p;
}

ParamSpec Norm(std::vector<std::string> choices) {
  ParamSpec p;
  p.name = "norm";
  p.kind = Kind::kChoice;
  p.choices = std::move(choices);
  p.defaults = {{"*", p.choices.front()}};
  p.help = "perturbation norm";
  return p;
}

ParamSpec Choice(const std::string& name, std::vector<std::string> choices,
                 const std::string& help) {
  ParamSpec p;
  p.name = name;
  p.kind = Kind::kChoice;
  p.choices = std::move(choices);
  p.defaults = {{"*", p.choices.front()}};
  p.help = help;
  return p;
}

std::vector<AttackInfo> BuildCatalog() {
  std::vector<AttackInfo> c;
  c.push_back({"clean", "baseline", "no perturbation: the baseline every table compares against", {}});
  c.push_back({"pgd", "accuracy",
               "PGD maximising the final classifier's cross-entropy (L-inf, random start)",
               {Norm({"linf"}),
                Real("eps", 0, 1, {{"*", "8/255"}}, {}, "L-inf budget"),
                Real("step", 0, 1, {{"*", "0.002"}}, {}, "step size per iteration"),
                Int("iterations", 1, 100000, {{"*", "30"}}, {}, "number of iterations")}});
  c.push_back(
      {"deepsloth", "D1",
       "DeepSloth: push every internal classifier towards the uniform distribution so no exit fires early",
       {Norm({"linf", "l2"}),
        Real("eps", 0, 100, {{"linf", "8/255"}, {"l2", "1.0"}}, {},
             "L-inf budget, or the starting L2 radius"),
        Real("step", 0, 1, {{"linf", "0.002"}}, {"linf"}, "sign-gradient step"),
        Int("iterations", 1, 100000, {{"linf", "30"}, {"l2", "550"}}, {}, "number of iterations"),
        Real("gamma", 0, 1, {{"l2", "0.1"}}, {"l2"}, "radius decay factor (radius *= 1-gamma)"),
        Int("decay_every", 1, 100000, {{"l2", "50"}}, {"l2"}, "iterations between radius decays"),
        Real("lr", 0, 100, {{"l2", "1.0"}}, {"l2"}, "initial SGD learning rate (cosine-annealed)"),
        Real("lr_min", 0, 100, {{"l2", "0.01"}}, {"l2"}, "final learning rate")}});
  c.push_back(
      {"ilfo", "D1",
       "ILFO: push every skip gate above 0.5 (hinge on P(run)) with an L2 penalty on the "
       "perturbation, Adam projected into the budget",
       {Norm({"linf", "l2"}),
        Real("eps", 0, 100, {{"linf", "8/255"}, {"l2", "1.5"}}, {}, "L-inf or L2 budget"),
        Int("iterations", 1, 100000, {{"*", "100"}}, {}, "Adam iterations"),
        Real("lr", 0, 10, {{"linf", "0.005"}, {"l2", "0.05"}}, {}, "Adam learning rate"),
        Real("c", 0, 1e9, {{"*", "100"}}, {}, "weight of the gate loss against ||delta||_2^2"),
        Real("kappa", 0, 0.49, {{"*", "0.05"}}, {}, "margin: gates are pushed above 0.5 + kappa")}});
  c.push_back(
      {"gradmdm", "D1",
       "GradMDM: p-norm gate loss with per-gate gradient magnitude normalisation and removal of "
       "directions that switch active gates off, Adam projected into the budget",
       {Norm({"linf", "l2"}),
        Real("eps", 0, 100, {{"linf", "8/255"}, {"l2", "1.5"}}, {}, "L-inf or L2 budget"),
        Int("iterations", 1, 100000, {{"*", "100"}}, {}, "Adam iterations"),
        Real("lr", 0, 10, {{"linf", "0.005"}, {"l2", "0.05"}}, {}, "Adam learning rate"),
        Real("p", 1, 100, {{"*", "3.5"}}, {}, "norm of the off-gate loss -||min(g, 0.5)||_p"),
        Int("warmup", 0, 100000, {{"*", "10"}}, {},
            "first iterations with p = 1 and no gradient manipulation"),
        Real("beta", 0, 1e9, {{"*", "1"}}, {}, "weight of the (normalised) gate gradient"),
        Real("gamma", 0, 1e9, {{"*", "0.05"}}, {}, "weight of the distance ||delta||_2^2")}});
  c.push_back(
      {"deepsloth_universal", "D1",
       "universal DeepSloth: one L-inf perturbation fitted on the first fit_samples training images, "
       "added to every sample",
       {Norm({"linf"}),
        Real("eps", 0, 1, {{"*", "8/255"}}, {}, "L-inf budget"),
        Real("step", 0, 1, {{"*", "0.005"}}, {}, "sign-gradient step"),
        Int("iterations", 1, 100000, {{"*", "20"}}, {}, "sign-gradient steps over the fitting set"),
        Int("fit_samples", 1, 60000, {{"*", "250"}}, {}, "training images the perturbation is fitted on")}});
  c.push_back(
      {"sponge", "D1",
       "sponge examples (white-box): maximise the activation density (or magnitude) of any D1 model "
       "so that zero-skipping hardware spends more energy",
       {Norm({"linf", "l2"}),
        Choice("objective", {"density", "magnitude"},
               "density: l0 proxy a^2/(a^2+sigma); magnitude: mean squared activation"),
        Real("eps", 0, 100, {{"linf", "8/255"}, {"l2", "1.0"}}, {}, "perturbation budget"),
        Real("step", 0, 100, {{"linf", "1/255"}, {"l2", "0.1"}}, {}, "step per iteration"),
        Int("iterations", 1, 100000, {{"*", "30"}}, {}, "number of iterations"),
        Real("sigma", 1e-12, 1, {{"*", "1e-4"}}, {}, "smoothing of the density proxy"),
        Real("path_weight", 0, 100, {{"*", "1"}}, {},
             "weight of the dynamic-path term (ViT: ponder objective / blocks; gated: mean "
             "log P(run)); 0: density alone")}});
  c.push_back(
      {"slowformer", "D1",
       "SlowFormer: an adversarial patch that keeps an adaptive-token ViT's tokens from halting "
       "(universal patch fitted on training images, or one per sample)",
       {Choice("mode", {"universal", "per_sample"},
               "universal: one patch fitted on fit_samples training images; per_sample: one per input"),
        Real("area", 0.001, 1, {{"*", "0.08"}}, {}, "patch area as a fraction of the image (square)"),
        Choice("position", {"top_left", "center", "bottom_right"}, "where the patch is pasted"),
        Int("fit_samples", 1, 60000, {{"*", "512"}}, {}, "universal: training images the patch is fitted on"),
        Int("epochs", 1, 10000, {{"*", "10"}}, {}, "universal: passes over the fitting images"),
        Int("batch", 1, 4096, {{"*", "64"}}, {}, "universal: minibatch size while fitting"),
        Real("lr", 0, 10, {{"*", "0.05"}}, {}, "universal: Adam learning rate on the patch"),
        Real("alpha", 0, 100, {{"*", "0"}}, {}, "weight of the halting-prior KL term (ponder term: 1)"),
        Real("halt_weight", 0, 100, {{"*", "1"}}, {},
             "weight of the summed halting scores before the last block (ponder term: 1)"),
        Int("iterations", 1, 100000, {{"*", "50"}}, {}, "per_sample: sign-gradient steps"),
        Real("step", 0, 1, {{"*", "0.05"}}, {}, "per_sample: sign-gradient step size")}});
  c.push_back(
      {"nicgslowdown", "D2",
       "NICGSlowDown: perturb a captioner's image (tanh space, Adam, penalty c * ReLU(d - budget)) "
       "so greedy decoding delays <end> and keeps its tokens unsure; keeps the longest caption "
       "within the budget",
       {Norm({"l2", "linf"}),
        Real("budget", 1e-12, 1e6, {{"l2", "1.0"}, {"linf", "0.03"}}, {},
             "l2: sum of squared differences; linf: largest absolute difference"),
        Real("c", 0, 1e9, {{"*", "100"}}, {}, "weight of the budget penalty"),
        Real("lr", 1e-12, 10, {{"*", "0.05"}}, {}, "Adam learning rate on the tanh-space image"),
        Int("iterations", 1, 100000, {{"*", "100"}}, {}, "Adam iterations"),
        Int("max_len", 1, 1000, {{"*", "60"}}, {},
            "greedy decoding limit while attacking (measurement uses the model's own)")}});
  c.push_back(
      {"nmtsloth", "D2",
       "NMTSloth: up to `edits` one-character edits (substitute, insert, delete) of a "
       "translator's source, ranked by the gradient at the source embeddings, so greedy "
       "decoding emits <end> late; each round keeps the candidate with the most decoder steps",
       {Int("edits", 1, 3, {{"*", "3"}}, {}, "character edits (iterations of the greedy search)"),
        Int("candidates", 1, 10000, {{"*", "16"}}, {}, "candidate edits decoded per iteration"),
        Int("max_len", 1, 1000, {{"*", "60"}}, {},
            "greedy decoding limit while attacking (measurement uses the model's own)")}});
  // D3: the detector + tracker pipeline. `threshold` is the confidence
  // threshold the attack aims at; every D3 unit measures at 0.25, 0.5 and
  // 0.75 whatever it is.
  c.push_back(
      {"overload", "D3",
       "Overload (ART's OverloadPyTorch): L-inf sign steps that push every cell's confidence "
       "towards 1, weighting the image regions with the fewest boxes, so NMS gets flooded",
       {Real("eps", 1e-12, 1, {{"*", "16/255"}}, {}, "L-inf budget"),
        Int("iterations", 1, 100000, {{"*", "10"}}, {}, "sign-gradient steps"),
        Int("grid", 1, 64, {{"*", "8"}}, {}, "the weighting grid is grid x grid regions"),
        Real("threshold", 0, 1, {{"*", "0.25"}}, {}, "confidence threshold a box must reach")}});
  c.push_back(
      {"phantom_sponge", "D3",
       "Phantom Sponges: lift sub-threshold candidates above the threshold while keeping their "
       "boxes small (and, with lambda1 < 1, the clean boxes); per image or one universal "
       "perturbation fitted on train sequences",
       {Choice("mode", {"per_image", "universal"},
               "per_image: a perturbation per frame; universal: one for every frame"),
        Real("threshold", 0, 1, {{"*", "0.25"}}, {}, "confidence threshold (T)"),
        Real("lambda1", 0, 1, {{"*", "1"}}, {}, "weight of the max-objectness loss (1 - lambda1: IoU loss)"),
        Real("lambda2", 0, 1e6, {{"*", "10"}}, {}, "weight of the box-area loss"),
        Real("eps", 1e-12, 1e6, {{"*", "4"}}, {}, "L2 radius of the perturbation"),
        Real("step", 1e-12, 1, {{"*", "0.01"}}, {}, "sign step"),
        Int("iterations", 1, 100000, {{"*", "200"}}, {}, "per_image: steps per frame batch"),
        Int("epochs", 1, 100000, {{"*", "20"}}, {}, "universal: passes over the fit frames"),
        Int("batch", 1, 100000, {{"*", "8"}}, {}, "universal: frames per step"),
        Int("fit_sequences", 1, 10000, {{"*", "4"}}, {},
            "universal: train-split sequences whose frames fit the perturbation")}});
  c.push_back(
      {"slowtrack", "D3",
       "SlowTrack: one perturbation shared by each pair of consecutive frames, pushing every "
       "cell's score towards 1 with a rotating slice of cells weighted extra, so phantom tracks "
       "are confirmed and then held by the tracker",
       {Int("iterations", 1, 100000, {{"*", "220"}}, {}, "normalised gradient steps per frame pair"),
        Real("step", 0, 10, {{"*", "0"}}, {},
             "step size; 0 = 1.5 x sqrt(pixels / (3 x 800 x 1440)), the reference's scaled"),
        Int("slices", 1, 4096, {{"*", "15"}}, {}, "runs of cells weighted in turn"),
        Real("selected_weight", 0, 1e6, {{"*", "10"}}, {}, "extra weight of the current run")}});
  // Families each family-specific attack targets (empty: every family).
  // The classifier attacks (pgd, sponge) target every D1 family, the D2
  // attacks their decoder family; only clean fits every family.
  const std::vector<std::string> classifiers = {"early_exit", "skip_gate", "adaptive_token"};
  const std::map<std::string, std::vector<std::string>> targets = {
      {"pgd", classifiers},
      {"sponge", classifiers},
      {"deepsloth", {"early_exit"}},
      {"deepsloth_universal", {"early_exit"}},
      {"ilfo", {"skip_gate"}},
      {"gradmdm", {"skip_gate"}},
      {"slowformer", {"adaptive_token"}},
      {"nicgslowdown", {"captioning"}},
      {"nmtsloth", {"translation"}},
      {"overload", {"detection"}},
      {"phantom_sponge", {"detection"}},
      {"slowtrack", {"detection"}},
  };
  for (auto& a : c) {
    auto it = targets.find(a.name);
    if (it != targets.end()) a.families = it->second;
  }
  return c;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

bool Applies(const ParamSpec& p, const std::string& norm) {
  return p.norms.empty() ||
         std::find(p.norms.begin(), p.norms.end(), norm) != p.norms.end();
}

std::string DefaultFor(const ParamSpec& p, const std::string& norm) {
  for (const auto& [n, v] : p.defaults) {
    if (n == norm) return v;
  }
  for (const auto& [n, v] : p.defaults) {
    if (n == "*") return v;
  }
  return "";
}

}  // namespace

const std::vector<AttackInfo>& AttackCatalog() {
  static const std::vector<AttackInfo> catalog = BuildCatalog();
  return catalog;
}

bool AttackTargetsFamily(const std::string& attack, const std::string& family) {
  for (const auto& a : AttackCatalog()) {
    if (a.name != attack) continue;
    return a.families.empty() ||
           std::find(a.families.begin(), a.families.end(), family) != a.families.end();
  }
  return false;
}

const AttackInfo& FindAttack(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& a : AttackCatalog()) {
    if (a.name == name) return a;
    names.push_back(a.name);
  }
  throw AttackError("unknown attack '" + Printable(name) + "' (allowed: " + Join(names) + ")");
}

namespace {

// Decimal ("0.0314", "-2", "1e-3") or fraction ("8/255") text; *out may be
// infinite or NaN when the text overflows. False if the text is neither
// (hexadecimal, "inf" and "nan" spellings are not accepted).
bool ParseNumberSyntax(const std::string& text, double* out) {
  if (text.empty()) return false;
  const auto slash = text.find('/');
  if (slash != std::string::npos) {
    double a = 0, b = 0;
    if (text.find('/', slash + 1) != std::string::npos ||
        !ParseNumberSyntax(text.substr(0, slash), &a) ||
        !ParseNumberSyntax(text.substr(slash + 1), &b) || b == 0) {
      return false;
    }
    *out = a / b;
    return true;
  }
  if (text.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

bool ParseNumberText(const std::string& text, double* out) {
  double v = 0;
  if (!ParseNumberSyntax(text, &v) || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

ParamMap CompleteAttackParams(
    const std::string& attack,
    const std::vector<std::pair<std::string, std::string>>& given) {
  const AttackInfo& info = FindAttack(attack);
  std::map<std::string, std::string> raw;
  std::vector<std::string> allowed;
  for (const auto& p : info.params) allowed.push_back(p.name);
  for (const auto& [k, v] : given) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      throw AttackError("attack '" + attack + "' has no parameter '" + Printable(k) + "' (allowed: " +
                        (allowed.empty() ? std::string("none") : Join(allowed)) + ")");
    }
    raw[k] = v;
  }
  std::string norm;
  for (const auto& p : info.params) {
    if (p.name == "norm") norm = raw.count("norm") ? raw["norm"] : DefaultFor(p, "*");
  }
  ParamMap out;
  for (const auto& p : info.params) {
    if (!Applies(p, norm)) {
      if (raw.count(p.name)) {
        throw AttackError("attack '" + attack + "' parameter '" + p.name +
                          "' does not apply to norm '" + norm + "' (it applies to: " +
                          Join(p.norms) + ")");
      }
      continue;
    }
    std::string text = raw.count(p.name) ? raw[p.name] : DefaultFor(p, norm);
    if (p.kind == Kind::kChoice) {
      if (std::find(p.choices.begin(), p.choices.end(), text) == p.choices.end()) {
        throw AttackError("attack '" + attack + "' parameter '" + p.name + "' = '" +
                          Printable(text) + "' is not allowed (allowed: " + Join(p.choices) + ")");
      }
      out[p.name] = text;
      continue;
    }
    const std::string range =
        "(allowed: " + FormatNumber(p.min) + " to " + FormatNumber(p.max) + ")";
    const std::string shown = "attack '" + attack + "' parameter '" + p.name + "' = '" +
                              Printable(text) + "'";
    double v = 0;
    if (!ParseNumberSyntax(text, &v)) {
      throw AttackError(shown + " is not a number " + range +
                        "; write e.g. 0.0314 or 8/255");
    }
    if (!std::isfinite(v) || v < p.min || v > p.max) {
      throw AttackError(shown + " is out of range " + range);
    }
    if (p.kind == Kind::kInt && v != std::floor(v)) {
      throw AttackError(shown + " must be a whole number " + range);
    }
    out[p.name] = v;
  }
  return out;
}

}  // namespace effrobust
