// A fixed pool of worker threads for data-parallel loops. The calling thread takes part, and
// workers spin briefly before sleeping: decode runs hundreds of tiny parallel loops per token.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace webaccel {

class ThreadPool {
 public:
  explicit ThreadPool(size_t n_threads);  // n_threads includes the caller; 1 = no workers
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Runs fn(begin, end) over [0, n) split into contiguous chunks of at least min_chunk; returns when all are done.
  void parallel_for(size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& fn);

 private:
  void worker_loop(size_t index);
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<size_t> next_chunk_{0};
  std::atomic<size_t> pending_workers_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0;
  size_t chunk_size_ = 1;
  size_t n_chunks_ = 0;
};

}  // namespace webaccel
