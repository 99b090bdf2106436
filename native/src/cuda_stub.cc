// Built instead of src/cuda/*.cu when nvcc was not found at build time (or SPLATSYNC_NO_CUDA=1):
// the addon is CPU-only and says so (capabilities().cuda.compiled = false, with the reason).
#include <stdexcept>

#include "backend.h"

namespace splat {

const CudaInfo& cuda_info() {
  static const CudaInfo info = [] {
    CudaInfo i;
    i.compiled = false;
    i.error =
        "this build has no CUDA backend (nvcc was not found when the addon was built, or SPLATSYNC_NO_CUDA=1); "
        "install the CUDA toolkit and run `npm run build:native`";
    return i;
  }();
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const SceneData>) {
  throw std::runtime_error("The CUDA backend is not available: " + cuda_info().error);
}

}  // namespace splat
