#include "defenses/catalog.h"

#include <algorithm>
#include <cmath>

#include "attacks/catalog.h"
#include "common/error.h"

namespace effrobust {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

DefenseParam Whole(const std::string& name, double lo, double hi, const std::string& def,
                   const std::string& help) {
  return {name, true, false, lo, hi, def, help};
}

DefenseParam Odd(const std::string& name, double lo, double hi, const std::string& def,
                 const std::string& help) {
  return {name, true, true, lo, hi, def, help};
}

DefenseParam Real(const std::string& name, double lo, double hi, const std::string& def,
                  const std::string& help) {
  return {name, false, false, lo, hi, def, help};
}

std::vector<DefenseInfo> BuildCatalog() {
  return {
      {kDefaultDefense, "no defense: the model sees the (attacked) input as is", {},
       DefenseKind::kNone, {}},
      {"jpeg",
       "JPEG round trip of the whole image (OpenCV imencode/imdecode, 8-bit)",
       {Whole("quality", 1, 100, "75", "JPEG quality")}},
      {"block_jpeg",
       "the SoK's JPEG defense (SHIELD's SLQ with one quality): every 8x8 block is JPEG-encoded "
       "and decoded on its own",
       {Whole("quality", 1, 100, "90", "JPEG quality of every block")}},
      {"nl_means",
       "spatial smoothing by non-local means (OpenCV fastNlMeansDenoising, colour: "
       "fastNlMeansDenoisingColored with h for luma and colour), on 8-bit values",
       {Real("h", 0.1, 255, "10", "filter strength on the 0..255 scale"),
        Odd("template", 1, 35, "7", "template (patch) window side in pixels"),
        Odd("search", 1, 101, "21", "search window side in pixels")}},
      {"median",
       "local spatial smoothing: k x k median filter per channel (OpenCV medianBlur)",
       {Odd("k", 1, 99, "3", "window side in pixels")}},
      {"bit_depth",
       "bit-depth reduction (Feature Squeezing): values rounded to 2^bits levels",
       {Whole("bits", 1, 8, "4", "bits kept per value")}},
      {"exit_cap",
       "runtime cap: a multi-exit model exits at classifier k at the latest (forced exit)",
       {Whole("k", 1, 64, "2", "classifiers evaluated at most (1 = the first exit)")},
       DefenseKind::kRuntimeCap,
       {"early_exit"}},
      {"decode_cap",
       "runtime cap: a decoder stops after at most `steps` decoding steps",
       {Whole("steps", 1, 1000, "20", "decoding steps at most")},
       DefenseKind::kRuntimeCap,
       {"captioning", "translation"}},
      {"nms_cap",
       "runtime cap: at most `candidates` boxes (highest confidence first) enter NMS and the "
       "tracker per frame",
       {Whole("candidates", 1, 100000, "16", "candidates per frame at most")},
       DefenseKind::kRuntimeCap,
       {"detection"}},
      {"input_detector",
       "input-validation detector (the paper's): an RBF SVM (libsvm) on features of the unit's "
       "clean and adversarial inputs, split by source sample; tested on the held-out sources "
       "plain, after 8x8-block JPEG and after non-local means",
       {Real("test_share", 0.05, 0.95, "0.3", "share of source samples held out for testing"),
        Whole("quality", 1, 100, "90", "block-JPEG quality of the JPEG test set"),
        Real("h", 0.1, 255, "10", "non-local means strength of the smoothed test set")},
       DefenseKind::kDetector,
       {}},
  };
}

std::string Allowed(const DefenseParam& p) {
  return std::string("(allowed: ") +
         (p.odd     ? "odd whole numbers "
          : p.whole ? "whole numbers "
                    : "") +
         FormatNumber(p.min) + " to " + FormatNumber(p.max) + ")";
}

// Throws unless `v` (shown as `text`) is allowed for `p`.
void CheckValue(const std::string& defense, const DefenseParam& p, const std::string& text,
                double v) {
  const std::string shown =
      "defense '" + defense + "' parameter '" + p.name + "' = '" + Printable(text) + "'";
  if (!std::isfinite(v) || v < p.min || v > p.max) {
    throw DefenseError(shown + " is out of range " + Allowed(p));
  }
  if (p.whole && v != std::floor(v))
    throw DefenseError(shown + " must be a whole number " + Allowed(p));
  if (p.odd && std::fmod(v, 2.0) == 0) throw DefenseError(shown + " must be odd " + Allowed(p));
}

const DefenseParam& FindParam(const DefenseInfo& info, const std::string& key) {
  std::vector<std::string> names;
  for (const auto& p : info.params) {
    if (p.name == key) return p;
    names.push_back(p.name);
  }
  throw DefenseError("defense '" + info.name + "' has no parameter '" + Printable(key) +
                     "' (allowed: " + (names.empty() ? "none" : Join(names)) + ")");
}

}  // namespace

const std::vector<DefenseInfo>& DefenseCatalog() {
  static const std::vector<DefenseInfo> catalog = BuildCatalog();
  return catalog;
}

const DefenseInfo& FindDefense(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& d : DefenseCatalog()) {
    if (d.name == name) return d;
    names.push_back(d.name);
  }
  throw DefenseError("unknown defense '" + Printable(name) + "' (allowed: " + Join(names) + ")");
}

ParamMap CompleteDefenseParams(const std::string& defense,
                               const std::vector<std::pair<std::string, std::string>>& given) {
  const DefenseInfo& info = FindDefense(defense);
  std::vector<std::pair<std::string, std::string>> texts;
  for (const auto& p : info.params) texts.emplace_back(p.name, p.default_value);
  for (const auto& [key, value] : given) {
    const DefenseParam& p = FindParam(info, key);
    for (auto& t : texts) {
      if (t.first == p.name) t.second = value;
    }
  }
  ParamMap out;
  for (const auto& [key, text] : texts) {
    const DefenseParam& p = FindParam(info, key);
    double v = 0;
    if (!ParseNumberText(text, &v)) {
      throw DefenseError("defense '" + defense + "' parameter '" + key + "' = '" + Printable(text) +
                         "' is not a number " + Allowed(p));
    }
    CheckValue(defense, p, text, v);
    out[key] = v;
  }
  return out;
}

bool DefenseAppliesTo(const std::string& defense, const std::string& family) {
  const DefenseInfo& info = FindDefense(defense);
  if (info.families.empty()) return family != "translation";
  return std::find(info.families.begin(), info.families.end(), family) != info.families.end();
}

std::string DefenseFamiliesText(const std::string& defense) {
  const DefenseInfo& info = FindDefense(defense);
  return info.families.empty() ? "every image family (not translation)" : Join(info.families);
}

void CheckDefenseParams(const std::string& defense,
                        const std::vector<std::pair<std::string, std::string>>& given) {
  CompleteDefenseParams(defense, given);
}

void CheckDefenseValue(const std::string& defense, const std::string& param, double value) {
  const DefenseParam& p = FindParam(FindDefense(defense), param);
  CheckValue(defense, p, std::isfinite(value) ? FormatNumber(value) : std::to_string(value), value);
}

}  // namespace effrobust
