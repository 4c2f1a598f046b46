#include "models/script_module.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "models/families.h"

namespace effrobust {
namespace {

// Module names may not contain '.'; the index keeps them unique.
std::string FlatName(std::string name, int i) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name + "_" + std::to_string(i);
}

}  // namespace

ScriptHolderImpl::ScriptHolderImpl(torch::jit::Module m) : script(std::move(m)) {
  int i = 0;
  for (const auto& p : script.named_parameters(/*recurse=*/true)) {
    register_parameter(FlatName(p.name, i++), p.value, p.value.requires_grad());
  }
  for (const auto& b : script.named_buffers(/*recurse=*/true)) {
    register_buffer(FlatName(b.name, i++), b.value);
  }
  train(script.is_training());
}

void ScriptHolderImpl::train(bool on) {
  script.train(on);
  torch::nn::Module::train(on);
}

void ScriptHolderImpl::to(torch::Device device, bool non_blocking) {
  script.to(device, non_blocking);  // moves the shared tensors in place
}

namespace script {

std::string Describe(const Where& c) {
  return "TorchScript victim '" + c.path + "' (family " + c.family + ")";
}

[[noreturn]] void Fail(const Where& c, const std::string& what) {
  throw ModelError(Describe(c) + ": " + what + " (see docs/model-contract.md)");
}

torch::IValue Attr(const Where& c, const torch::jit::Module& m, const std::string& name,
                   const std::string& type) {
  if (!m.hasattr(name)) Fail(c, "missing attribute '" + name + ": " + type + "'");
  return m.attr(name);
}

int64_t IntAttr(const Where& c, const torch::jit::Module& m, const std::string& name) {
  const torch::IValue v = Attr(c, m, name, "int");
  if (!v.isInt() || v.toInt() <= 0) {
    Fail(c, "attribute '" + name + "' must be a positive int, got " + v.tagKind());
  }
  return v.toInt();
}

double FloatAttr(const Where& c, const torch::jit::Module& m, const std::string& name) {
  const torch::IValue v = Attr(c, m, name, "float");
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  Fail(c, "attribute '" + name + "' must be a float, got " + v.tagKind());
}

std::vector<double> FloatListAttr(const Where& c, const torch::jit::Module& m,
                                  const std::string& name) {
  const torch::IValue v = Attr(c, m, name, "List[float]");
  std::vector<double> out;
  if (v.isDoubleList()) {
    out = v.toDoubleVector();
  } else if (v.isIntList()) {
    for (int64_t i : v.toIntVector()) out.push_back(static_cast<double>(i));
  } else {
    Fail(c, "attribute '" + name + "' must be a List[float], got " + v.tagKind());
  }
  if (out.empty()) Fail(c, "attribute '" + name + "' is an empty list");
  for (double f : out) {
    if (!(f >= 0)) Fail(c, "attribute '" + name + "' has a negative or NaN entry");
  }
  return out;
}

std::string Shape(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void CheckShape(const Where& c, const std::string& what, const torch::Tensor& t,
                const std::vector<int64_t>& want) {
  bool ok = t.defined() && t.dim() == static_cast<int64_t>(want.size());
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || t.size(i) == want[i];
  if (ok) return;
  std::string w = "[";
  for (size_t i = 0; i < want.size(); ++i) {
    w += (i ? ", " : "") + (want[i] < 0 ? std::string("*") : std::to_string(want[i]));
  }
  Fail(c, what + " has shape " + Shape(t) + ", expected " + w + "]");
}

std::vector<torch::Tensor> TensorList(const Where& c, const std::string& what,
                                      const torch::IValue& v) {
  if (!v.isTensorList()) Fail(c, what + " must be a List[Tensor], got " + v.tagKind());
  return v.toTensorVector();
}

torch::Tensor TensorOf(const Where& c, const std::string& what, const torch::IValue& v) {
  if (!v.isTensor()) Fail(c, what + " must be a Tensor, got " + v.tagKind());
  return v.toTensor();
}

// The method's result as a tuple of `n` elements.
std::vector<torch::IValue> Tuple(const Where& c, const std::string& method, const torch::IValue& v,
                                 size_t n) {
  if (!v.isTuple() || v.toTupleRef().elements().size() != n) {
    Fail(c, "method '" + method + "' must return a tuple of " + std::to_string(n) +
                " elements, got " +
                (v.isTuple() ? std::to_string(v.toTupleRef().elements().size()) + " elements"
                             : std::string(v.tagKind())));
  }
  const auto& e = v.toTupleRef().elements();
  return std::vector<torch::IValue>(e.begin(), e.end());
}

void RequireMethod(const Where& c, const torch::jit::Module& m, const std::string& name,
                   size_t args, const std::string& signature) {
  auto method = m.find_method(name);
  if (!method) Fail(c, "missing method '" + signature + "'");
  // The schema counts `self`.
  if (method->function().getSchema().arguments().size() != args + 1) {
    Fail(c, "method '" + name + "' takes " +
                std::to_string(method->function().getSchema().arguments().size() - 1) +
                " arguments, expected '" + signature + "'");
  }
}

torch::jit::Module Load(const std::string& path, const std::string& family, Where* where) {
  Where& c = *where;
  c.path = path;
  c.family = family.empty() ? "?" : family;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ModelError("TorchScript victim '" + path + "' is missing or not a regular file");
  }
  torch::jit::Module m;
  try {
    m = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw ModelError("TorchScript victim '" + path +
                     "' cannot be loaded by torch::jit::load (save it with "
                     "torch.jit.save(torch.jit.script(model), path)): " +
                     e.what_without_backtrace());
  }
  const torch::IValue declared = Attr(c, m, "effrobust_family", "str");
  const std::vector<std::string>& families = TorchScriptFamilyNames();
  std::string allowed;
  for (const auto& f : families) allowed += (allowed.empty() ? "" : ", ") + f;
  if (!declared.isString() ||
      std::find(families.begin(), families.end(), declared.toStringRef()) == families.end()) {
    Fail(c, "attribute 'effrobust_family' is " +
                (declared.isString() ? "'" + declared.toStringRef() + "'"
                                     : std::string(declared.tagKind())) +
                " (allowed: " + allowed + ")");
  }
  if (!family.empty() && declared.toStringRef() != family) {
    Fail(c, "the module declares effrobust_family '" + declared.toStringRef() + "', not '" +
                family + "'");
  }
  c.family = declared.toStringRef();
  return m;
}

}  // namespace script
}  // namespace effrobust
