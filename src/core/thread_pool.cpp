#include "core/thread_pool.h"

#include <algorithm>

namespace webaccel {

namespace {
constexpr int kSpinIterations = 20000;
inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(size_t n_threads) {
  for (size_t i = 1; i < std::max<size_t>(n_threads, 1); ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    const size_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (c >= n_chunks_) return;
    const size_t begin = c * chunk_size_;
    (*job_)(begin, std::min(job_n_, begin + chunk_size_));
  }
}

void ThreadPool::parallel_for(size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  const size_t threads = size();
  if (threads == 1 || n <= min_chunk) {
    fn(0, n);
    return;
  }
  // One chunk per thread when the work is even; a few more let a late thread catch up.
  const size_t target_chunks = std::min(n / std::max<size_t>(min_chunk, 1), threads * 4);
  chunk_size_ = std::max<size_t>((n + std::max<size_t>(target_chunks, 1) - 1) / std::max<size_t>(target_chunks, 1), 1);
  n_chunks_ = (n + chunk_size_ - 1) / chunk_size_;
  job_ = &fn;
  job_n_ = n;
  next_chunk_.store(0, std::memory_order_relaxed);
  pending_workers_.store(workers_.size(), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();
  while (pending_workers_.load(std::memory_order_acquire) != 0) cpu_relax();
  job_ = nullptr;
}

void ThreadPool::worker_loop(size_t /*index*/) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      cpu_relax();
      ++spins;
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    run_chunks();
    pending_workers_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace webaccel
