{
  "targets": [
    {
      "target_name": "npt66",
      "sources": [
        "<!@(ls -1 native/core/*.cc)",
        "<!@(ls -1 native/nfq/*.cc 2>/dev/null || true)",
        "<!@(ls -1 native/binding/*.cc)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core",
        "native/nfq"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lnetfilter_queue", "-lmnl", "-lpthread"]
    }
  ]
}
