// Host (CPU) memory allocator settings for processes that run torch on the
// CPU. glibc serves blocks of 128 KiB and more with fresh mmap()s by default
// and returns them to the kernel on free, so every large activation tensor of
// an attack iteration is a new mapping whose pages the kernel must zero on
// first touch. Keeping such blocks in the heap lets later iterations reuse
// them (issue 8: DeepSloth at batch 256 spent ~20 % of its time in page
// faults and clearing pages; 2.8 s -> 2.2 s per 30 iterations).
#ifndef EFFROBUST_COMMON_HOST_ALLOCATOR_H_
#define EFFROBUST_COMMON_HOST_ALLOCATOR_H_

namespace effrobust {

// Serves blocks below 32 MiB from the heap and trims the heap only when more
// than 256 MiB at its top is free. Call once at start-up, before threads
// start. Returns false if glibc refused a setting (the defaults then stay).
bool TuneHostAllocator();

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_HOST_ALLOCATOR_H_
