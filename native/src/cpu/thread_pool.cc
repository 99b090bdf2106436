#include "thread_pool.h"

namespace splat::cpu {

ThreadPool::ThreadPool(unsigned threads) {
  if (threads < 1) threads = 1;
  workers_.reserve(threads - 1);
  for (unsigned i = 0; i + 1 < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::drain() {
  const auto& task = *task_;
  for (;;) {
    const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_tasks_) break;
    try {
      task(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_tasks_, std::memory_order_relaxed);  // abandon the remaining tasks
    }
  }
}

void ThreadPool::worker_loop() {
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(m_);
      if (--busy_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::run(size_t n_tasks, const std::function<void(size_t)>& task) {
  if (n_tasks == 0) return;
  std::lock_guard<std::mutex> job(job_mutex_);
  if (workers_.empty() || n_tasks == 1) {
    for (size_t i = 0; i < n_tasks; ++i) task(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(m_);
    task_ = &task;
    n_tasks_ = n_tasks;
    next_.store(0, std::memory_order_relaxed);
    busy_ = static_cast<unsigned>(workers_.size());
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return busy_ == 0; });
    task_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

ThreadPool& global_pool() {
  // Never destroyed: a render may still be running on a libuv thread while the process exits,
  // and joining the workers from a static destructor then would race with it.
  static ThreadPool* pool = new ThreadPool([] {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1u : n;
  }());
  return *pool;
}

}  // namespace splat::cpu
