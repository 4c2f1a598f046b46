// Tests of the process-level helpers in common/: resident memory readings
// and the host allocator settings.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "common/host_allocator.h"
#include "common/process_memory.h"

namespace effrobust {
namespace {

TEST(ProcessMemoryTest, RssGrowsWhenPagesAreTouchedAndPeakIsAtLeastRss) {
  const ProcessMemory before = ReadProcessMemory();
  ASSERT_GT(before.rss_mib, 0);
  EXPECT_GE(before.peak_mib, before.rss_mib);
  const size_t bytes = size_t{64} << 20;
  char* block = static_cast<char*>(std::malloc(bytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, bytes);  // touch every page
  const ProcessMemory after = ReadProcessMemory();
  EXPECT_GE(after.rss_mib - before.rss_mib, 48) << before.rss_mib << " -> " << after.rss_mib;
  EXPECT_GE(after.peak_mib, after.rss_mib);
  std::free(block);
}

TEST(HostAllocatorTest, BlocksUpTo32MiBComeFromTheHeapAndLargerOnesAreStillMapped) {
  ASSERT_TRUE(TuneHostAllocator());
  // glibc's default would mmap a 4 MiB block (threshold 128 KiB).
  const size_t mapped_before = mallinfo2().hblkhd;
  void* medium = std::malloc(size_t{4} << 20);
  ASSERT_NE(medium, nullptr);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  void* large = std::malloc(size_t{48} << 20);
  ASSERT_NE(large, nullptr);
  EXPECT_GE(mallinfo2().hblkhd, mapped_before + (size_t{48} << 20));
  std::free(large);
  std::free(medium);
}

}  // namespace
}  // namespace effrobust
