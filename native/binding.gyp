# Builds native/build/Release/splatsync.node (npm run build:native = node-gyp rebuild -C native).
# CPU backend only; src/cuda/ is reserved for the CUDA backend.
{
  "targets": [
    {
      "target_name": "splatsync",
      "sources": [
        "src/addon.cc",
        "src/scene.cc",
        "src/buffers.cc",
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
      "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2", "/arch:AVX2"]}}
    }
  ]
}
