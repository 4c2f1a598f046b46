#include "workers/dispatch_executor.h"

#include <map>

#include "common/error.h"
#include "models/checkpoint.h"
#include "models/families.h"
#include "models/torchscript_captioner.h"
#include "models/torchscript_detector.h"
#include "models/torchscript_victim.h"
#include "models/victim_loader.h"
#include "workers/d1_executor.h"
#include "workers/d2_executor.h"
#include "workers/d3_executor.h"

namespace effrobust {
namespace {

// The family of the checkpoint or TorchScript victim at `path` ("" if its
// arch is unknown).
std::string FamilyOfModelFile(const std::string& path) {
  if (IsTorchScriptVictimFile(path)) return TorchScriptFamilyOf(path);
  return FamilyOfArchName(ReadModelFile(path).meta.arch);
}

class DispatchExecutor : public UnitExecutor {
 public:
  explicit DispatchExecutor(const ExecutorPlacement& placement)
      : d1_(MakeD1Executor(placement)),
        d2_(MakeD2Executor(placement)),
        d3_(MakeD3Executor(placement)) {}

  std::string held_model() const override { return last_ ? last_->held_model() : ""; }

  Output Execute(const WorkUnit& unit, const RunOptions& options, ShardWriter& shard,
                 UnitContext& context) override {
    const std::string key = unit.model_path + "#" + unit.model_hash;
    auto it = families_.find(key);
    if (it == families_.end())
      it = families_.emplace(key, FamilyOfModelFile(unit.model_path)).first;
    const std::string& family = it->second;
    if (family.empty()) {
      families_.erase(it);
      throw WorkerError("model '" + unit.model + "' (" + unit.model_path +
                        ") has an arch effrobust does not know");
    }
    last_ = IsDecoderFamily(family)          ? d2_.get()
            : family == kFamilyDetection ? d3_.get()
                                         : d1_.get();
    return last_->Execute(unit, options, shard, context);
  }

 private:
  std::unique_ptr<UnitExecutor> d1_;
  std::unique_ptr<UnitExecutor> d2_;
  std::unique_ptr<UnitExecutor> d3_;
  UnitExecutor* last_ = nullptr;
  std::map<std::string, std::string> families_;  // model path#hash -> family
};

}  // namespace

std::unique_ptr<UnitExecutor> MakeWorkerExecutor(const ExecutorPlacement& placement) {
  return std::make_unique<DispatchExecutor>(placement);
}

void CheckModelLoads(const std::string& path, const std::string& dataset) {
  if (IsTorchScriptVictimFile(path)) {
    const std::string family = TorchScriptFamilyOf(path);  // loads the archive once
    if (family == kFamilyCaptioning) {
      CheckDecoderModelLoads(path, dataset);  // as the D2 executor loads it
      return;
    }
    if (family == kFamilyDetection) {
      CheckDetectorModelLoads(path, dataset);  // as the D3 executor loads it
      return;
    }
    LoadTorchScriptVictim(path, "", dataset);
    return;
  }
  const std::string family = FamilyOfArchName(ReadModelFile(path).meta.arch);
  if (family == kFamilyDetection) {
    CheckDetectorModelLoads(path, dataset);  // trained on scenes, runs on sequences
    return;
  }
  ReadModelFile(path, dataset);
  if (IsDecoderFamily(family)) {
    CheckDecoderModelLoads(path, dataset);
  } else {
    LoadVictim(path, dataset);
  }
}

void CheckTorchScriptModelLoads(const std::string& path, const std::string& family,
                                const std::string& dataset) {
  if (family == kFamilyCaptioning) {
    LoadTorchScriptCaptioner(path, dataset);  // refuses a file declaring another family
    return;
  }
  if (family == kFamilyDetection) {
    LoadTorchScriptDetector(path, dataset);  // refuses a file declaring another family
    return;
  }
  LoadTorchScriptVictim(path, family, dataset);
}

}  // namespace effrobust
