#include "workers/device.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "common/log.h"

namespace effrobust {
namespace {

// First line of a command's output ("" on failure).
std::string CommandLine(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[256];
    if (fgets(buf, sizeof(buf), p)) out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The CPU model (from /proc/cpuinfo) or the GPU name (nvidia-smi; the CPU
// build of LibTorch has no CUDA device-property API).
std::string DeviceName(const torch::Device& device) {
  if (device.is_cuda()) {
    std::string name = CommandLine("nvidia-smi --query-gpu=name --format=csv,noheader -i " +
                                   std::to_string(device.index()) + " 2>/dev/null");
    return name.empty() ? "CUDA device " + std::to_string(device.index()) : name;
  }
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "cpu";
}

}  // namespace

WorkerDevice ConfigureWorkerDevice(const RunOptions& options, const ExecutorPlacement& placement) {
  int threads = options.threads;
  if (threads <= 0) {
    // Under Slurm the task's CPUs (--cpus-per-task); else the node's cores
    // shared by the workers on it.
    const char* slurm_cpus = std::getenv("SLURM_CPUS_PER_TASK");
    const int from_slurm = slurm_cpus ? std::atoi(slurm_cpus) : 0;
    const int hw = std::max(1u, std::thread::hardware_concurrency());
    threads = from_slurm > 0 ? from_slurm : std::max(1, hw / std::max(1, placement.local_workers));
  }
  torch::set_num_threads(threads);
  if (options.device == "cuda" && !torch::cuda::is_available()) {
    throw WorkerError(
        "device 'cuda' requested but no CUDA device is available to this LibTorch "
        "(use device: auto or cpu)");
  }
  torch::Device device = torch::kCPU;
  if (options.device != "cpu" && torch::cuda::is_available()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, placement.local_index % count);
  }
  WorkerDevice out;
  out.device = device.str();
  out.name = DeviceName(device);
  out.threads = threads;
  LogInfo("worker uses " + out.device + " (" + out.name + ") with " + std::to_string(threads) +
          " thread(s)");
  return out;
}

}  // namespace effrobust
