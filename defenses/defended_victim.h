// A victim behind an input transform, for adaptive attacks (issue 7 §1):
// every input goes through the transform before the model, and gradients
// pass the transform by BPDA (defenses/torch_transforms.h), so an
// unchanged attack optimises through the defense. Measure and InferOne see
// the transformed input too, so an attack that picks its best iterate by
// measured cost picks it against the defended system. The transforms are
// deterministic, so one BPDA pass per step is the whole expectation (EOT
// with one sample); a randomised transform would get a fresh draw per call.
// Thread-safety: as the wrapped victim.
#ifndef EFFROBUST_DEFENSES_DEFENDED_VICTIM_H_
#define EFFROBUST_DEFENSES_DEFENDED_VICTIM_H_

#include <memory>
#include <string>
#include <vector>

#include "defenses/transforms.h"
#include "models/victim.h"

namespace effrobust {

class DefendedVictim : public VictimModel {
 public:
  // `inner` must outlive this object.
  DefendedVictim(VictimModel& inner, std::shared_ptr<const Transform> transform)
      : inner_(inner), transform_(std::move(transform)) {}

  std::string family() const override { return inner_.family(); }
  int64_t in_channels() const override { return inner_.in_channels(); }
  int64_t image_size() const override { return inner_.image_size(); }
  int64_t num_classes() const override { return inner_.num_classes(); }
  torch::nn::Module& module() override { return inner_.module(); }
  VictimOutputs Forward(const torch::Tensor& x, bool keep_activations = false) override;
  std::vector<std::string> OperatingPoints() const override { return inner_.OperatingPoints(); }
  std::string metric_name() const override { return inner_.metric_name(); }
  DynamicResult Measure(const torch::Tensor& x, const std::string& point) override;
  void InferOne(const torch::Tensor& x, const std::string& point) override;
  double full_flops() const override { return inner_.full_flops(); }
  void SetExitCap(int64_t k) override { inner_.SetExitCap(k); }

 private:
  VictimModel& inner_;
  std::shared_ptr<const Transform> transform_;
};

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_DEFENDED_VICTIM_H_
