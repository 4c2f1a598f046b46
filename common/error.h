// Error types for effrobust. One exception type per layer; each message is
// prefixed with the layer, e.g. "[results] cannot open shard 'x.h5': ...".
// Errors are caught at two boundaries only: the worker's unit boundary and
// main(). Thread-safe: value types.
#ifndef EFFROBUST_COMMON_ERROR_H_
#define EFFROBUST_COMMON_ERROR_H_

#include <stdexcept>
#include <string>

namespace effrobust {

// Base of all effrobust errors. what() is "[layer] message".
class Error : public std::runtime_error {
 public:
  Error(const std::string& layer, const std::string& message)
      : std::runtime_error("[" + layer + "] " + message), layer_(layer) {}
  const std::string& layer() const { return layer_; }

 private:
  std::string layer_;
};

// Bad user input (experiment spec, command line). main() exits with code 2.
class SpecError : public Error {
 public:
  explicit SpecError(const std::string& m) : Error("spec", m) {}
};
class OrchestratorError : public Error {
 public:
  explicit OrchestratorError(const std::string& m) : Error("orchestrator", m) {}
};
class ResultsError : public Error {
 public:
  explicit ResultsError(const std::string& m) : Error("results", m) {}
};
class DataError : public Error {
 public:
  explicit DataError(const std::string& m) : Error("data", m) {}
};
class ModelError : public Error {
 public:
  explicit ModelError(const std::string& m) : Error("models", m) {}
};
class AttackError : public Error {
 public:
  explicit AttackError(const std::string& m) : Error("attacks", m) {}
};
class DefenseError : public Error {
 public:
  explicit DefenseError(const std::string& m) : Error("defenses", m) {}
};
class WorkerError : public Error {
 public:
  explicit WorkerError(const std::string& m) : Error("workers", m) {}
};
// A unit stopped through no fault of its own (a drain): not a failure.
class UnitInterrupted : public WorkerError {
 public:
  explicit UnitInterrupted(const std::string& m) : WorkerError(m) {}
};

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_ERROR_H_
