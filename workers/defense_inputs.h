// What the executors share about a unit's inputs: its defenses' input
// transforms and their timed, one-input-at-a-time application (issue 7 §1),
// the input detector's view, and the stored adversarial inputs. Uses torch.
#ifndef EFFROBUST_WORKERS_DEFENSE_INPUTS_H_
#define EFFROBUST_WORKERS_DEFENSE_INPUTS_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "defenses/input_detector.h"
#include "defenses/transforms.h"
#include "orchestrator/plan.h"

namespace effrobust {

// The input transform `name` of `unit`, built from the parameters the unit
// lists for it. Throws WorkerError if the unit does not list `name`, and
// DefenseError if it is not an input transform.
std::shared_ptr<const Transform> UnitTransform(const WorkUnit& unit, const std::string& name);

// `inputs` [N, C, H, W] through `transform` one input at a time, as a
// deployment would run it; each input's time (ms, steady clock) is
// appended to `ms`.
torch::Tensor TransformEach(const Transform& transform, const torch::Tensor& inputs,
                            std::vector<double>* ms);

// The seed of a unit's defense `name` (the input detector's split and
// folds): from (experiment seed, unit id, defense), so every rank draws the
// same.
uint64_t DefenseSeed(const WorkUnit& unit, const std::string& name);

// The unit's input_detector defense `d` on its clean and adversarial inputs
// (EvaluateInputDetector with the unit's seed for it); for the clean attack,
// which has no adversarial twins, NoInputDetector.
InputDetectorResult UnitInputDetector(const WorkUnit& unit, const UnitDefense& d,
                                      const torch::Tensor& clean, const torch::Tensor& adv,
                                      const std::vector<int64_t>& source,
                                      const FeatureFunction& features, int64_t batch_size);

// Adds a detector result whose inputs are the unit's rows, in order, as the
// view of defense `name`: its columns to `rows`, its metrics to `metrics`.
void AddInputDetectorView(const InputDetectorResult& r, const std::string& name, RowBatch* rows,
                          std::map<std::string, double>* metrics);

// Stores `x_adv` [N, ...] (one input per row) as the rows' tensor block
// "adversarial" (float32), as `measure: store_adversarial` asks.
void StoreAdversarial(const torch::Tensor& x_adv, RowBatch* rows);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_DEFENSE_INPUTS_H_
