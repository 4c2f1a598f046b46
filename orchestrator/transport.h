// Transport: point-to-point messages between the coordinator (rank 0) and
// workers. Implementations: MpiTransport (real ranks) and InProcessHub
// (threads in one process, for single-process runs and tests). Each
// Transport object is used by one thread.
#ifndef EFFROBUST_ORCHESTRATOR_TRANSPORT_H_
#define EFFROBUST_ORCHESTRATOR_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

namespace effrobust {

// Message tags of the coordinator/worker protocol (orchestrator/protocol.h).
enum MessageTag : int {
  kTagReady = 1,        // worker -> 0: wants work
  kTagAssign = 2,       // 0 -> worker: one unit
  kTagResult = 3,       // worker -> 0: a unit finished (done or failed)
  kTagStop = 4,         // 0 -> worker: no more work, close your shard
  kTagShardClosed = 5,  // worker -> 0: shard renamed, worker exits
  kTagHeartbeat = 6,    // worker -> 0: still working on its lease
  kTagDrain = 7,        // 0 -> busy worker: finish or abandon within the grace
};

struct Message {
  int tag = 0;
  std::string payload;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Sends `m` to rank `dest` without waiting for `dest` to receive it, so a
  // rank that has stopped making progress cannot block the sender; messages
  // to one rank arrive in the order sent. Throws OrchestratorError on
  // failure.
  virtual void Send(int dest, const Message& m) = 0;

  // Waits up to `timeout_s` seconds for a message from any rank. Returns
  // false on timeout; otherwise fills `source` and `m`. Idle waiting sleeps
  // rather than spinning, so rank 0 does not burn a core.
  virtual bool Receive(double timeout_s, int* source, Message* m) = 0;
};

// A set of connected in-process endpoints, one per rank. The hub must
// outlive its endpoints. Endpoint(r) may be called once per rank; each
// endpoint is then used by one thread.
class InProcessHub {
 public:
  explicit InProcessHub(int size);
  ~InProcessHub();
  std::unique_ptr<Transport> Endpoint(int rank);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_TRANSPORT_H_
