#include "orchestrator/run_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/log.h"

namespace effrobust {
namespace {

class FcntlRunLock : public RunLock {
 public:
  explicit FcntlRunLock(int fd) : fd_(fd) {}
  ~FcntlRunLock() override { ::close(fd_); }  // closing drops the lock

 private:
  int fd_;
};

std::string Holder(int fd) {
  char buf[512] = {0};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown process" : s;
}

}  // namespace

std::unique_ptr<RunLock> AcquireRunLock(const std::string& run_dir) {
  const std::string path = run_dir + "/run.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw OrchestratorError("cannot open lock file '" + path + "': " + std::strerror(errno));
  }
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) != 0) {
    const int err = errno;
    const std::string holder = Holder(fd);
    ::close(fd);
    if (err == EAGAIN || err == EACCES) {
      throw SpecError("run directory '" + run_dir + "' is in use by another effrobust run (" +
                      holder + "); wait for it to end or choose another output directory");
    }
    throw OrchestratorError("cannot lock '" + path + "': " + std::strerror(err));
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const std::string who = "pid " + std::to_string(::getpid()) + " on host " + host + " since " +
                          IsoTime(WallSeconds()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, who.data(), who.size(), 0) < 0) {
    LogWarn("cannot write holder into '" + path + "': " + std::strerror(errno));
  }
  return std::make_unique<FcntlRunLock>(fd);
}

}  // namespace effrobust
