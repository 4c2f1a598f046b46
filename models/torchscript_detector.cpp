#include "models/torchscript_detector.h"

#include "common/error.h"
#include "data/mot_sequence.h"
#include "data/sequences.h"
#include "models/families.h"
#include "models/script_module.h"

namespace effrobust {
namespace {

using script::CheckShape;
using script::Fail;
using script::IntAttr;
using script::Shape;
using script::TensorOf;
using script::Tuple;

constexpr char kMethod[] = "forward_candidates";

struct Contract : script::Where {
  int64_t in_channels = 0, image_size = 0, num_classes = 0;
};

class TorchScriptDetector : public DetectionVictim {
 public:
  TorchScriptDetector(ScriptHolder holder, Contract contract)
      : holder_(std::move(holder)), c_(std::move(contract)) {}

  DetectorCandidates RawCandidates(const torch::Tensor& images) override {
    const Outputs o = Run(images);
    DetectorCandidates out;
    out.objectness = o.objectness;
    out.class_probs = o.class_probs;
    auto best = o.class_probs.max(2);
    out.scores = o.objectness * std::get<0>(best);
    out.labels = std::get<1>(best);
    out.boxes = o.boxes;
    return out;
  }

  torch::Tensor CandidateFeatures(const torch::Tensor& images) override {
    const Outputs o = Run(images);
    return torch::cat(
        {o.objectness.unsqueeze(2), o.class_probs, o.boxes / static_cast<double>(c_.image_size)},
        2);
  }

  int64_t image_size() const override { return c_.image_size; }
  int64_t in_channels() const override { return c_.in_channels; }
  int64_t classes() const override { return c_.num_classes; }
  void set_input_stage(InputStage stage) override { input_stage_ = std::move(stage); }
  torch::nn::Module& module() override { return *holder_; }

  // forward_candidates's outputs, checked against the contract.
  struct Outputs {
    torch::Tensor objectness, class_probs, boxes;
  };

  Outputs Run(const torch::Tensor& images) {
    const int64_t s = c_.image_size;
    if (images.dim() != 4 || images.size(1) != c_.in_channels || images.size(2) != s ||
        images.size(3) != s) {
      throw ModelError(script::Describe(c_) + " takes images [B, " +
                       std::to_string(c_.in_channels) + ", " + std::to_string(s) + ", " +
                       std::to_string(s) + "], got " + Shape(images));
    }
    const torch::Tensor x = input_stage_ ? input_stage_(images) : images;
    torch::IValue v;
    try {
      v = holder_->script.get_method(kMethod)({x});
    } catch (const c10::Error& e) {
      Fail(c_, std::string("method '") + kMethod + "' failed on input " + Shape(x) + ": " +
                   e.what_without_backtrace());
    } catch (const std::exception& e) {
      Fail(c_,
           std::string("method '") + kMethod + "' failed on input " + Shape(x) + ": " + e.what());
    }
    const std::string m = kMethod;
    auto t = Tuple(c_, m, v, 3);
    Outputs o;
    o.objectness = TensorOf(c_, m + " objectness", t[0]);
    o.class_probs = TensorOf(c_, m + " class_probs", t[1]);
    o.boxes = TensorOf(c_, m + " boxes", t[2]);
    const int64_t b = images.size(0);
    CheckShape(c_, m + " objectness", o.objectness, {b, -1});
    const int64_t n = o.objectness.size(1);
    CheckShape(c_, m + " class_probs", o.class_probs, {b, n, c_.num_classes});
    CheckShape(c_, m + " boxes", o.boxes, {b, n, 4});
    for (const auto& [what, tensor] :
         {std::make_pair("objectness", o.objectness), std::make_pair("class_probs", o.class_probs),
          std::make_pair("boxes", o.boxes)}) {
      if (tensor.scalar_type() != torch::kFloat32) {
        Fail(c_, m + " " + what + " is " + std::string(c10::toString(tensor.scalar_type())) +
                     ", expected float32");
      }
    }
    return o;
  }

 private:
  ScriptHolder holder_;
  Contract c_;
  InputStage input_stage_;
};

// The input and classes `dataset` needs (see the header).
void CheckDataset(const Contract& c, const std::string& dataset) {
  if (dataset.empty()) return;
  if (dataset == kSequencesDataset) {
    const int64_t side = SequenceOptions().canvas;
    if (c.image_size != side || c.num_classes != 10) {
      Fail(c, "declares " + std::to_string(c.in_channels) + "x" + std::to_string(c.image_size) +
                  "x" + std::to_string(c.image_size) + " inputs and " +
                  std::to_string(c.num_classes) + " classes, but dataset '" + dataset + "' has 1x" +
                  std::to_string(side) + "x" + std::to_string(side) + " frames and 10 classes");
    }
  } else if (dataset != kMot17Dataset) {
    Fail(c, "dataset '" + dataset + "' is not one a detector runs on (allowed: " +
                kSequencesDataset + ", " + kMot17Dataset + ")");
  }
  // mot17: frames are resized to image_size; pedestrians are class 0, which
  // every num_classes >= 1 has.
}

// Objectness and class probabilities of the load check are in [0, 1].
void CheckProbabilities(const Contract& c, const std::string& what, const torch::Tensor& t) {
  if (t.numel() == 0) return;
  const double lo = t.min().item<double>(), hi = t.max().item<double>();
  if (!(lo >= 0 && hi <= 1)) {
    Fail(c, std::string(kMethod) + " " + what + " must be in [0, 1] (probabilities, not " +
                "logits), got values in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "] on zero images");
  }
}

}  // namespace

std::unique_ptr<DetectionVictim> LoadTorchScriptDetector(const std::string& path,
                                                         const std::string& dataset) {
  Contract c;
  torch::jit::Module m = script::Load(path, kFamilyDetection, &c);
  c.in_channels = IntAttr(c, m, "in_channels");
  c.image_size = IntAttr(c, m, "image_size");
  c.num_classes = IntAttr(c, m, "num_classes");
  if (c.in_channels != 1) {
    Fail(c, "attribute 'in_channels' is " + std::to_string(c.in_channels) +
                ", expected 1 (the D3 pipeline's frames are grey)");
  }
  script::RequireMethod(
      c, m, kMethod, 1,
      "forward_candidates(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor]");
  CheckDataset(c, dataset);
  m.eval();
  ScriptHolder holder(m);
  auto detector = std::make_unique<TorchScriptDetector>(holder, c);
  {
    // The contract, checked on a batch of 2 zero images of the declared size.
    torch::NoGradGuard no_grad;
    const TorchScriptDetector::Outputs o =
        detector->Run(torch::zeros({2, c.in_channels, c.image_size, c.image_size}));
    if (o.objectness.size(1) < 1) Fail(c, std::string(kMethod) + " returned no candidates");
    CheckProbabilities(c, "objectness", o.objectness);
    CheckProbabilities(c, "class_probs", o.class_probs);
  }
  detector->module().eval();
  for (auto& p : detector->module().parameters()) p.set_requires_grad(false);
  return detector;
}

}  // namespace effrobust
