#include "common/progress.h"

#include <utility>

namespace effrobust {
namespace {

thread_local std::function<void()>* current_hook = nullptr;

}  // namespace

void ReportProgress() {
  if (current_hook != nullptr) (*current_hook)();
}

ScopedProgressHook::ScopedProgressHook(std::function<void()> hook)
    : hook_(std::move(hook)), previous_(current_hook) {
  current_hook = &hook_;
}

ScopedProgressHook::~ScopedProgressHook() { current_hook = previous_; }

}  // namespace effrobust
