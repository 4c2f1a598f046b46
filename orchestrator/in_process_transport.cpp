#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "common/error.h"
#include "orchestrator/transport.h"

namespace effrobust {

struct InProcessHub::State {
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<int, Message>> queue;
  };
  explicit State(int n) : inboxes(n) {}
  std::vector<Inbox> inboxes;
};

namespace {

class InProcessTransport : public Transport {
 public:
  InProcessTransport(InProcessHub::State* state, int rank) : state_(state), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(state_->inboxes.size()); }

  void Send(int dest, const Message& m) override {
    if (dest < 0 || dest >= size()) {
      throw OrchestratorError("send to rank " + std::to_string(dest) + " outside [0, " +
                              std::to_string(size()) + ")");
    }
    auto& box = state_->inboxes[dest];
    {
      std::lock_guard<std::mutex> lock(box.mu);
      box.queue.emplace_back(rank_, m);
    }
    box.cv.notify_one();
  }

  bool Receive(double timeout_s, int* source, Message* m) override {
    auto& box = state_->inboxes[rank_];
    std::unique_lock<std::mutex> lock(box.mu);
    if (!box.cv.wait_for(lock, std::chrono::duration<double>(timeout_s),
                         [&] { return !box.queue.empty(); })) {
      return false;
    }
    *source = box.queue.front().first;
    *m = std::move(box.queue.front().second);
    box.queue.pop_front();
    return true;
  }

 private:
  InProcessHub::State* state_;
  int rank_;
};

}  // namespace

InProcessHub::InProcessHub(int size) : state_(std::make_unique<State>(size)) {}
InProcessHub::~InProcessHub() = default;

std::unique_ptr<Transport> InProcessHub::Endpoint(int rank) {
  return std::make_unique<InProcessTransport>(state_.get(), rank);
}

}  // namespace effrobust
