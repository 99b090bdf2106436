// A small fixed thread pool reused across renders. One job runs at a time: concurrent
// callers (overlapping renders on libuv threads) take turns, and the calling thread works
// on its own job too, so `size()` threads share every job.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace splat::cpu {

class ThreadPool {
 public:
  /** threads: total threads working on a job, the caller included (>= 1). */
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /**
   * Calls task(i) for every i in [0, n_tasks), spread over the pool, and returns when all
   * are done. Tasks are handed out one at a time in increasing i. The first exception a task
   * throws is rethrown here once the job has drained.
   */
  void run(size_t n_tasks, const std::function<void(size_t)>& task);

  /** Splits [0, n) into about size()*4 chunks (at least `grain` long): body(begin, end). */
  template <class Body>
  void parallel_for(size_t n, size_t grain, Body&& body) {
    if (n == 0) return;
    size_t chunks = static_cast<size_t>(size()) * 4;
    size_t len = (n + chunks - 1) / chunks;
    if (len < grain) len = grain;
    chunks = (n + len - 1) / len;
    if (chunks <= 1) {
      body(size_t(0), n);
      return;
    }
    run(chunks, [&](size_t c) { body(c * len, (c + 1) * len < n ? (c + 1) * len : n); });
  }

 private:
  void worker_loop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // one job at a time
  std::mutex m_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t n_tasks_ = 0;
  std::atomic<size_t> next_{0};
  unsigned busy_ = 0;         // workers still inside the current job
  unsigned long generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

/** The process-wide pool: std::thread::hardware_concurrency() threads, created on first use. */
ThreadPool& global_pool();

}  // namespace splat::cpu
