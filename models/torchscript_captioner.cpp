#include "models/torchscript_captioner.h"

#include <utility>

#include "common/error.h"
#include "data/caption_json.h"
#include "data/scenes.h"
#include "models/families.h"
#include "models/script_module.h"

namespace effrobust {
namespace {

using script::Fail;
using script::Shape;

// What the contract declares, read once at load.
struct Contract : script::Where {
  int64_t in_channels = 0, image_size = 0, max_len = 0;
};

class TorchScriptCaptioner : public CaptioningVictim {
 public:
  TorchScriptCaptioner(ScriptHolder holder, Contract contract, Vocabulary vocab)
      : holder_(std::move(holder)), c_(std::move(contract)), vocab_(std::move(vocab)) {}

  GreedyResult Greedy(const torch::Tensor& images, int64_t max_len) override {
    if (max_len < 1) throw ModelError("max_len must be >= 1, got " + std::to_string(max_len));
    const torch::Tensor f = Encode(images);
    std::vector<torch::Tensor> state = InitState(f);
    return GreedyDecode(images.size(0), images.device(), max_len,
                        [&](const torch::Tensor& tokens) { return Step(f, tokens, &state); });
  }

  torch::Tensor RegionFeatures(const torch::Tensor& images) override { return Encode(images); }

  int64_t in_channels() const override { return c_.in_channels; }
  int64_t image_size() const override { return c_.image_size; }
  const Vocabulary& vocabulary() const override { return vocab_; }
  int64_t max_len() const override { return c_.max_len; }
  void set_input_stage(InputStage stage) override { stage_ = std::move(stage); }
  torch::nn::Module& module() override { return *holder_; }

  // encode on the images after the input stage: features [B, R, D].
  torch::Tensor Encode(const torch::Tensor& images) {
    if (images.dim() != 4 || images.size(1) != c_.in_channels || images.size(2) != c_.image_size ||
        images.size(3) != c_.image_size) {
      throw ModelError(script::Describe(c_) + " takes images [B, " +
                       std::to_string(c_.in_channels) + ", " + std::to_string(c_.image_size) +
                       ", " + std::to_string(c_.image_size) + "], got " + Shape(images));
    }
    const torch::Tensor x = stage_ ? stage_(images) : images;
    torch::Tensor f = script::TensorOf(c_, "encode's result", Call("encode", {x}, Shape(x)));
    script::CheckShape(c_, "encode's features", f, {images.size(0), -1, -1});
    if (f.size(1) < 1 || f.size(2) < 1 || !f.is_floating_point()) {
      Fail(c_,
           "encode's features must be floating-point [B, R, D] with R, D >= 1, got " + Shape(f));
    }
    return f;
  }

  std::vector<torch::Tensor> InitState(const torch::Tensor& features) {
    return script::TensorList(c_, "init_state's result",
                              Call("init_state", {features}, Shape(features)));
  }

  // One decode_step: logits [B, vocab]; `state` advanced.
  torch::Tensor Step(const torch::Tensor& features, const torch::Tensor& tokens,
                     std::vector<torch::Tensor>* state) {
    c10::List<torch::Tensor> in;
    for (const auto& s : *state) in.push_back(s);
    auto out =
        script::Tuple(c_, "decode_step",
                      Call("decode_step", {features, tokens, in},
                           Shape(features) + ", tokens " + Shape(tokens) + " and a state of " +
                               std::to_string(state->size()) + " tensors"),
                      2);
    torch::Tensor logits = script::TensorOf(c_, "decode_step's logits", out[0]);
    script::CheckShape(c_, "decode_step's logits", logits, {tokens.size(0), vocab_.size()});
    if (!logits.is_floating_point()) Fail(c_, "decode_step's logits must be floating-point");
    *state = script::TensorList(c_, "decode_step's state", out[1]);
    return logits;
  }

 private:
  // Runs `method`; a failure inside the module becomes a ModelError naming
  // the file, the method and its inputs (`inputs`).
  torch::IValue Call(const std::string& method, std::vector<torch::IValue> args,
                     const std::string& inputs) {
    try {
      return holder_->script.get_method(method)(std::move(args));
    } catch (const c10::Error& e) {
      Fail(c_,
           "method '" + method + "' failed on input " + inputs + ": " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      Fail(c_, "method '" + method + "' failed on input " + inputs + ": " + e.what());
    }
  }

  ScriptHolder holder_;
  Contract c_;
  Vocabulary vocab_;
  InputStage stage_;
};

Vocabulary ReadVocabulary(const Contract& c, const torch::jit::Module& m) {
  const torch::IValue v = script::Attr(c, m, "vocabulary", "List[str]");
  std::vector<std::string> tokens;
  bool strings = v.isList();
  if (strings) {
    for (const auto& t : v.toListRef()) {
      if (!t.isString()) {
        strings = false;
        break;
      }
      tokens.push_back(t.toStringRef());
    }
  }
  if (!strings) Fail(c, "attribute 'vocabulary' must be a List[str], got " + v.tagKind());
  try {
    Vocabulary vocab = Vocabulary::FromTokens(tokens, false);
    if (vocab.size() < 5) {
      Fail(c, "attribute 'vocabulary' has no word token after the four specials");
    }
    return vocab;
  } catch (const DataError& e) {
    const std::string why = std::string(e.what()).substr(e.layer().size() + 3);  // "[data] "
    Fail(c,
         "attribute 'vocabulary' must be <pad>, <start>, <end>, <unk> (ids 0..3) then the "
         "word tokens, each once: " +
             why);
  }
}

void CheckDataset(const Contract& c, const std::string& dataset) {
  if (dataset.empty()) return;
  const std::string declared = std::to_string(c.in_channels) + "x" + std::to_string(c.image_size) +
                               "x" + std::to_string(c.image_size);
  if (dataset == kScenesDataset) {
    const int64_t canvas = SceneOptions().canvas;
    if (c.in_channels != 1 || c.image_size != canvas) {
      Fail(c, "declares " + declared + " inputs, but dataset '" + dataset + "' has 1x" +
                  std::to_string(canvas) + "x" + std::to_string(canvas) + " scenes");
    }
  } else if (dataset == kCaptionJsonDataset) {
    if (c.in_channels != 1 && c.in_channels != 3) {
      Fail(c, "declares " + declared + " inputs, but dataset '" + dataset +
                  "' reads images with 1 (grey) or 3 (RGB) channels");
    }
  } else {
    std::string allowed;
    for (const auto& d : TorchScriptCaptionerDatasets()) {
      allowed += (allowed.empty() ? "" : ", ") + d;
    }
    Fail(c, "dataset '" + dataset + "' is not one a captioner runs on (allowed: " + allowed + ")");
  }
}

}  // namespace

const std::vector<std::string>& TorchScriptCaptionerDatasets() {
  static const std::vector<std::string> datasets = {kScenesDataset, kCaptionJsonDataset};
  return datasets;
}

std::unique_ptr<CaptioningVictim> LoadTorchScriptCaptioner(const std::string& path,
                                                           const std::string& dataset) {
  Contract c;
  torch::jit::Module m = script::Load(path, kFamilyCaptioning, &c);
  c.in_channels = script::IntAttr(c, m, "in_channels");
  c.image_size = script::IntAttr(c, m, "image_size");
  c.max_len = script::IntAttr(c, m, "max_len");
  Vocabulary vocab = ReadVocabulary(c, m);
  script::RequireMethod(c, m, "encode", 1, "encode(self, images: Tensor) -> Tensor");
  script::RequireMethod(c, m, "init_state", 1,
                        "init_state(self, features: Tensor) -> List[Tensor]");
  script::RequireMethod(c, m, "decode_step", 3,
                        "decode_step(self, features: Tensor, tokens: Tensor, state: "
                        "List[Tensor]) -> Tuple[Tensor, List[Tensor]]");
  CheckDataset(c, dataset);
  m.eval();
  auto victim = std::make_unique<TorchScriptCaptioner>(ScriptHolder(m), c, std::move(vocab));
  {
    // The contract, checked on 2 zero images: encode, init_state and two
    // steps (the second on the state the first returned).
    torch::NoGradGuard no_grad;
    const torch::Tensor f =
        victim->Encode(torch::zeros({2, c.in_channels, c.image_size, c.image_size}));
    std::vector<torch::Tensor> state = victim->InitState(f);
    torch::Tensor tokens = torch::full({2}, Vocabulary::kStart, torch::kInt64);
    for (int step = 0; step < 2; ++step) tokens = victim->Step(f, tokens, &state).argmax(1);
  }
  victim->module().eval();
  for (auto& p : victim->module().parameters()) p.set_requires_grad(false);
  return victim;
}

}  // namespace effrobust
