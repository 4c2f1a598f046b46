#include "defenses/svm_detector.h"

#include <svm.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <string>

#include "common/error.h"

namespace effrobust {

struct SvmDetector::State {
  // libsvm's model points into the training problem's nodes (its support
  // vectors are not copied), so they live as long as the model.
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  std::vector<double> labels;
  svm_model* model = nullptr;
  int64_t features = 0;
  double gamma = 0;
  int positive_index = 0;  // position of label +1 in the model's label order

  ~State() {
    if (model != nullptr) svm_free_and_destroy_model(&model);
  }
};

namespace {

void Quiet(const char*) {}

std::mutex& TrainMutex() {
  static std::mutex m;
  return m;
}

// Dense row -> libsvm's sparse nodes (1-based indices, every feature kept
// so that zeros count in the kernel the same way), terminated by index -1.
void AppendRow(const std::vector<double>& row, std::vector<svm_node>* nodes) {
  for (size_t j = 0; j < row.size(); ++j) nodes->push_back({static_cast<int>(j + 1), row[j]});
  nodes->push_back({-1, 0});
}

void CheckRow(const std::vector<double>& row, size_t i, int64_t features) {
  if (static_cast<int64_t>(row.size()) != features) {
    throw DefenseError("svm detector: row " + std::to_string(i) + " has " +
                       std::to_string(row.size()) +
                       " features (allowed: " + std::to_string(features) + ", as the first row)");
  }
  for (size_t j = 0; j < row.size(); ++j) {
    if (!std::isfinite(row[j])) {
      throw DefenseError("svm detector: row " + std::to_string(i) + " feature " +
                         std::to_string(j) + " is not finite (allowed: finite numbers)");
    }
  }
}

}  // namespace

SvmDetector::SvmDetector(std::unique_ptr<State> state) : state_(std::move(state)) {}
SvmDetector::SvmDetector(SvmDetector&&) noexcept = default;
SvmDetector& SvmDetector::operator=(SvmDetector&&) noexcept = default;
SvmDetector::~SvmDetector() = default;

SvmDetector SvmDetector::Train(const std::vector<std::vector<double>>& features,
                               const std::vector<bool>& adversarial, const SvmOptions& options) {
  if (!(options.c > 0) || !(options.gamma >= 0) || !(options.cache_mb > 0) ||
      !(options.tolerance > 0)) {
    throw DefenseError("svm detector: c " + std::to_string(options.c) + ", gamma " +
                       std::to_string(options.gamma) + ", cache_mb " +
                       std::to_string(options.cache_mb) + ", tolerance " +
                       std::to_string(options.tolerance) +
                       " (allowed: c > 0, gamma >= 0 with 0 = scale, cache_mb > 0, tolerance > 0)");
  }
  if (features.size() != adversarial.size()) {
    throw DefenseError("svm detector: " + std::to_string(features.size()) + " rows but " +
                       std::to_string(adversarial.size()) + " labels");
  }
  if (features.empty() || features[0].empty()) {
    throw DefenseError("svm detector: no rows or no features (allowed: at least one feature)");
  }
  int64_t positives = 0;
  for (bool a : adversarial) positives += a ? 1 : 0;
  const int64_t negatives = static_cast<int64_t>(adversarial.size()) - positives;
  if (positives < 2 || negatives < 2) {
    throw DefenseError("svm detector: " + std::to_string(positives) + " adversarial and " +
                       std::to_string(negatives) +
                       " clean rows (allowed: at least 2 of each, for the probability folds)");
  }
  auto state = std::make_unique<State>();
  state->features = static_cast<int64_t>(features[0].size());
  double sum = 0, sum_sq = 0, count = 0;
  for (size_t i = 0; i < features.size(); ++i) {
    CheckRow(features[i], i, state->features);
    for (double v : features[i]) {
      sum += v;
      sum_sq += v * v;
      count += 1;
    }
  }
  if (options.gamma > 0) {
    state->gamma = options.gamma;
  } else {
    const double mean = sum / count, var = sum_sq / count - mean * mean;
    state->gamma = var > 0 ? 1.0 / (static_cast<double>(state->features) * var) : 1.0;
  }
  state->nodes.reserve(features.size() * (features[0].size() + 1));
  for (const auto& row : features) AppendRow(row, &state->nodes);
  for (size_t i = 0, at = 0; i < features.size(); ++i, at += features[0].size() + 1) {
    state->rows.push_back(&state->nodes[at]);
    state->labels.push_back(adversarial[i] ? 1.0 : -1.0);
  }
  svm_problem problem;
  problem.l = static_cast<int>(features.size());
  problem.y = state->labels.data();
  problem.x = state->rows.data();
  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = RBF;
  param.gamma = state->gamma;
  param.cache_size = options.cache_mb;
  param.eps = options.tolerance;
  param.C = options.c;
  param.shrinking = 1;
  param.probability = 1;
  if (const char* error = svm_check_parameter(&problem, &param)) {
    throw DefenseError(std::string("svm detector: libsvm refused the parameters: ") + error);
  }
  {
    std::lock_guard<std::mutex> lock(TrainMutex());
    svm_set_print_string_function(&Quiet);
    std::srand(static_cast<unsigned>(options.seed));
    state->model = svm_train(&problem, &param);
  }
  int labels[2] = {0, 0};
  svm_get_labels(state->model, labels);
  state->positive_index = labels[0] == 1 ? 0 : 1;
  return SvmDetector(std::move(state));
}

std::vector<double> SvmDetector::Score(const std::vector<std::vector<double>>& features) const {
  std::vector<double> out;
  out.reserve(features.size());
  std::vector<svm_node> row;
  double p[2] = {0, 0};
  for (size_t i = 0; i < features.size(); ++i) {
    CheckRow(features[i], i, state_->features);
    row.clear();
    AppendRow(features[i], &row);
    svm_predict_probability(state_->model, row.data(), p);
    out.push_back(p[state_->positive_index]);
  }
  return out;
}

int64_t SvmDetector::features() const { return state_->features; }

int64_t SvmDetector::support_vectors() const { return svm_get_nr_sv(state_->model); }

double SvmDetector::gamma() const { return state_->gamma; }

}  // namespace effrobust
