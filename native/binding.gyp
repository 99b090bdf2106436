# Builds native/build/Release/splatsync.node (npm run build:native = node-gyp rebuild -C native).
# The CPU backend is always built. When nvcc is found (tools/cuda-probe.mjs: SPLATSYNC_NVCC,
# CUDA_HOME, PATH, /usr/local/cuda; SPLATSYNC_NO_CUDA=1 turns it off) the CUDA backend
# (src/cuda/*.cu) is compiled too, for sm_80 sm_86 sm_89 sm_90 + compute_90 PTX
# (SPLATSYNC_CUDA_ARCHS overrides), and the CUDA runtime is linked statically, so the addon
# loads on machines without CUDA and falls back to the CPU there (capabilities() says why).
# A CUDA compile error fails the build, so CI catches it on machines without a GPU.
{
  "variables": {
    "splatsync_nvcc%": "<!(node tools/cuda-probe.mjs nvcc)",
    "splatsync_cuda_libdir%": "<!(node tools/cuda-probe.mjs libdir)",
    "splatsync_cuda_archs%": "<!(node tools/cuda-probe.mjs archs)",
    "splatsync_cuda_report%": "<!(node tools/cuda-probe.mjs report)"
  },
  "targets": [
    {
      "target_name": "splatsync",
      "sources": [
        "src/addon.cc",
        "src/scene.cc",
        "src/buffers.cc",
        "src/backend.cc",
        "src/deform_net.cc",
        "src/cpu/backend.cc",
        "src/cpu/thread_pool.cc",
        "src/cpu/deform.cc",
        "src/cpu/preprocess.cc",
        "src/cpu/sort_bin.cc",
        "src/cpu/blend.cc",
        "src/cpu/render_frame.cc",
        "src/cpu/half.cc",
        "src/cpu/features.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-march=native", "-fno-trapping-math", "-pthread", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-march=native", "-fno-trapping-math", "-pthread", "-Wall", "-Wextra"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-march=native"]
      },
      "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2", "/arch:AVX2"]}},
      "conditions": [
        ["splatsync_nvcc!=''", {
          "sources": [
            "src/cuda/backend.cu",
            "src/cuda/raster.cu",
            "src/cuda/deform.cu",
            "src/cuda/features.cu",
            "src/cuda/sort.cu"
          ],
          "rules": [
            {
              "rule_name": "nvcc",
              "extension": "cu",
              "message": "nvcc <(RULE_INPUT_NAME)",
              "inputs": [
                "src/backend.h",
                "src/buffers.h",
                "src/deform_net.h",
                "src/common/alpha.h",
                "src/common/appearance.h",
                "src/common/deform.h",
                "src/common/deform_mlp.h",
                "src/common/gaussian.h",
                "src/common/half.h",
                "src/common/hd.h",
                "src/common/label.h",
                "src/common/sh.h",
                "src/common/splat.h",
                "src/common/tiles.h",
                "src/cuda/kernels.h",
                "src/cuda/util.cuh"
              ],
              "outputs": ["<(INTERMEDIATE_DIR)/cuda/<(RULE_INPUT_ROOT).o"],
              "action": [
                "<(splatsync_nvcc)", "-c", "-std=c++17", "-O3",
                "-Xcompiler", "-fPIC", "-Xcompiler", "-fexceptions", "-Xcompiler", "-Wall",
                "<!@(node tools/cuda-probe.mjs gencode)",
                "-DSPLATSYNC_CUDA_ARCHS_LIST=<(splatsync_cuda_archs)",
                "-o", "<@(_outputs)", "<(RULE_INPUT_PATH)"
              ],
              "process_outputs_as_sources": 1
            }
          ],
          "libraries": ["<(splatsync_cuda_libdir)/libcudart_static.a", "-ldl", "-lrt"]
        }, {
          "sources": ["src/cuda_stub.cc"]
        }]
      ]
    }
  ]
}
