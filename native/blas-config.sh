#!/bin/sh
# Prints compiler/linker flags for OpenBLAS, for binding.gyp's <!@(...) expansions.
#   blas-config.sh include   -> include directories (containing cblas.h)
#   blas-config.sh libs      -> linker flags
# Overrides: GSHF_BLAS_INCLUDE, GSHF_BLAS_LIBS.
case "$1" in
  include)
    if [ -n "${GSHF_BLAS_INCLUDE:-}" ]; then echo "$GSHF_BLAS_INCLUDE"; exit 0; fi
    d=$(pkg-config --variable=includedir openblas 2>/dev/null || true)
    for c in "$d" /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/x86_64-linux-gnu \
             /usr/include/openblas /usr/local/include /usr/include; do
      if [ -n "$c" ] && [ -f "$c/cblas.h" ]; then echo "$c"; exit 0; fi
    done
    echo /usr/include ;;
  libs)
    if [ -n "${GSHF_BLAS_LIBS:-}" ]; then echo "$GSHF_BLAS_LIBS"; exit 0; fi
    # -lopenblas resolves to the Debian alternatives symlink (pthread or openmp variant), so the
    # runtime library follows `update-alternatives`.
    echo "-lopenblas" ;;
  *) echo "usage: $0 include|libs" >&2; exit 2 ;;
esac
