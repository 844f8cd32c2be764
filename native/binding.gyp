{
  "targets": [
    {
      "target_name": "gshf_native",
      "sources": ["src/gshf_native.c", "src/kernels.c", "src/mle.c", "src/attention.c", "src/parallel.c", "src/tilt.c", "src/dpo.c"],
      "include_dirs": ["<!@(sh ./blas-config.sh include)"],
      "libraries": ["<!@(sh ./blas-config.sh libs)", "-lm", "-lpthread"],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fvisibility=hidden", "-Wno-unknown-pragmas"],
      "cflags!": ["-O2"]
    }
  ]
}
