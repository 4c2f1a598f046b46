// Shared pieces of the TorchScript victims of every family
// (docs/model-contract.md): the scripted module seen as a torch::nn::Module,
// loading an archive and checking its declared family, and reading the
// contract's attributes and outputs with errors that name the file, the
// family and what was expected. Used by models/torchscript_victim (D1) and
// the scripted captioner and detector. Thread-safety: like a module.
#ifndef EFFROBUST_MODELS_SCRIPT_MODULE_H_
#define EFFROBUST_MODELS_SCRIPT_MODULE_H_

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace effrobust {

// The scripted module as a torch::nn::Module: its parameters and buffers
// registered (the same tensors), train/eval and device moves forwarded.
class ScriptHolderImpl : public torch::nn::Module {
 public:
  explicit ScriptHolderImpl(torch::jit::Module m);
  void train(bool on = true) override;
  using torch::nn::Module::to;
  void to(torch::Device device, bool non_blocking = false) override;

  torch::jit::Module script;
};
TORCH_MODULE(ScriptHolder);

namespace script {

// Which file and family a contract check is about.
struct Where {
  std::string path;
  std::string family;  // "?" until the module's declared family is read
};

// "TorchScript victim 'PATH' (family F)".
std::string Describe(const Where& c);

// Throws ModelError: Describe(c) + ": " + what + " (see docs/model-contract.md)".
[[noreturn]] void Fail(const Where& c, const std::string& what);

// Loads the archive at `path` on the CPU and reads its `effrobust_family`,
// which must be one of TorchScriptFamilyNames() and, if `family` is not
// empty, equal to it; sets c->path and c->family. Throws ModelError for a
// missing file, an archive torch::jit::load refuses, or a bad family.
torch::jit::Module Load(const std::string& path, const std::string& family, Where* c);

// Attribute `name` (documented as `type`); Fail if missing.
torch::IValue Attr(const Where& c, const torch::jit::Module& m, const std::string& name,
                   const std::string& type);
int64_t IntAttr(const Where& c, const torch::jit::Module& m, const std::string& name);  // > 0
double FloatAttr(const Where& c, const torch::jit::Module& m, const std::string& name);
// Non-empty, entries >= 0.
std::vector<double> FloatListAttr(const Where& c, const torch::jit::Module& m,
                                  const std::string& name);

// Fail unless the module has method `name` taking `args` arguments besides
// self; `signature` is shown in the error.
void RequireMethod(const Where& c, const torch::jit::Module& m, const std::string& name,
                   size_t args, const std::string& signature);

// "[2, 10]" ("undefined" for an undefined tensor).
std::string Shape(const torch::Tensor& t);
// Fail unless `t` has want's sizes (-1: any size in that dimension).
void CheckShape(const Where& c, const std::string& what, const torch::Tensor& t,
                const std::vector<int64_t>& want);
std::vector<torch::Tensor> TensorList(const Where& c, const std::string& what,
                                      const torch::IValue& v);
torch::Tensor TensorOf(const Where& c, const std::string& what, const torch::IValue& v);
// A method's result as a tuple of `n` elements.
std::vector<torch::IValue> Tuple(const Where& c, const std::string& method, const torch::IValue& v,
                                 size_t n);

}  // namespace script
}  // namespace effrobust

#endif  // EFFROBUST_MODELS_SCRIPT_MODULE_H_
