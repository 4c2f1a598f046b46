#include "workers/defense_inputs.h"

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "defenses/torch_transforms.h"
#include "evaluation/defense_views.h"

namespace effrobust {

std::shared_ptr<const Transform> UnitTransform(const WorkUnit& unit, const std::string& name) {
  for (const UnitDefense& d : unit.defenses) {
    if (d.name != name) continue;
    std::shared_ptr<const Transform> t = MakeTransform(d.name, d.params);
    if (!t) throw DefenseError("defense '" + name + "' is not an input transform");
    return t;
  }
  throw WorkerError("unit " + unit.id + " has no defense '" + name + "'");
}

torch::Tensor TransformEach(const Transform& transform, const torch::Tensor& inputs,
                            std::vector<double>* ms) {
  if (inputs.size(0) == 0) return inputs.clone();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < inputs.size(0); ++i) {
    const double t0 = MonotonicSeconds();
    out.push_back(ApplyTransform(transform, inputs.slice(0, i, i + 1)));
    ms->push_back((MonotonicSeconds() - t0) * 1e3);
  }
  return torch::cat(out, 0);
}

uint64_t DefenseSeed(const WorkUnit& unit, const std::string& name) {
  return MixSeed(static_cast<uint64_t>(unit.seed), Fnv1a64(unit.id) ^ Fnv1a64(name), 0);
}

InputDetectorResult UnitInputDetector(const WorkUnit& unit, const UnitDefense& d,
                                      const torch::Tensor& clean, const torch::Tensor& adv,
                                      const std::vector<int64_t>& source,
                                      const FeatureFunction& features, int64_t batch_size) {
  if (unit.attack == "clean") return NoInputDetector(clean.size(0));
  return EvaluateInputDetector(clean, adv, source, features, d.params, DefenseSeed(unit, d.name),
                               batch_size);
}

void AddInputDetectorView(const InputDetectorResult& r, const std::string& name, RowBatch* rows,
                          std::map<std::string, double>* metrics) {
  RowBatch view;
  AddInputDetectorColumns(r, &view);
  AddViewMetrics(r.metrics, name, metrics);
  AppendColumns(view, DefenseViewPrefix(name), {}, rows);
}

void StoreAdversarial(const torch::Tensor& x_adv, RowBatch* rows) {
  TensorBlock& t = rows->tensor();
  t.name = "adversarial";
  t.row_shape.assign(x_adv.sizes().begin() + 1, x_adv.sizes().end());
  const torch::Tensor f = x_adv.to(torch::kCPU, torch::kFloat32).contiguous();
  t.data.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

}  // namespace effrobust
