{
  "targets": [
    {
      "target_name": "rnnkit",
      "sources": [
        "native/core/conv1d.cpp",
        "native/core/dense.cpp",
        "native/core/householder_qr.cpp",
        "native/core/initializers.cpp",
        "native/core/rnn.cpp",
        "native/core/layout.cpp",
        "native/core/pooling.cpp",
        "native/core/tensor_ops.cpp",
        "native/core/training.cpp",
        "native/cpu/cpu_device.cpp",
        "native/cpu/gemm.cpp",
        "native/cpu/host_allocator.cpp",
        "native/cpu/isa.cpp",
        "native/cpu/kernels_avx2.cpp",
        "native/cpu/kernels_avx512.cpp",
        "native/cpu/kernels_generic.cpp",
        "native/cpu/peak_probe.cpp",
        "native/cpu/recurrent.cpp",
        "native/cpu/thread_pool.cpp",
        "native/cpu/training.cpp",
        "native/cpu/windows.cpp",
        "native/napi/addon.cpp",
        "native/napi/backends.cpp",
        "native/napi/conv_bindings.cpp",
        "native/napi/convert.cpp",
        "native/napi/cpu_bindings.cpp",
        "native/napi/dense_bindings.cpp",
        "native/napi/init_bindings.cpp",
        "native/napi/ops_bindings.cpp",
        "native/napi/rnn_bindings.cpp",
        "native/napi/tensor_handle.cpp",
        "native/napi/training_bindings.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp-simd", "-fvisibility=hidden", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "ldflags": ["-pthread"],
      "libraries": ["-ldl"],
      "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"]}}
    }
  ]
}
