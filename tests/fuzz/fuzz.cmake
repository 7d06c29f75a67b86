# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer targets for the codec and the shared ring, built only with clang. The smoke test
# (label fuzz) writes a seed corpus and runs a fixed number of inputs with a
# fixed seed, so it is repeatable; run the binary by hand for a long run:
#   ./fuzz_decode -max_total_time=600 corpus fuzz_seeds_dir
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(_fz ${PROJECT_SOURCE_DIR}/tests/fuzz)
  add_executable(fuzz_seeds ${_fz}/fuzz_seeds.c)
  target_link_libraries(fuzz_seeds PRIVATE vbproto)

  # The codec is compiled into the target, not linked from vbproto, so
  # libFuzzer's coverage instrumentation sees its branches.
  add_executable(fuzz_decode ${_fz}/fuzz_decode.c
                 ${PROJECT_SOURCE_DIR}/src/proto/codec.c)
  target_compile_options(fuzz_decode PRIVATE
                         -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_decode PRIVATE -fsanitize=fuzzer,address,undefined)

  add_test(NAME fuzz_decode_smoke
    COMMAND sh -c "rm -rf corpus && mkdir corpus && ./fuzz_seeds seeds && ./fuzz_decode -runs=200000 -seed=1 -max_len=33000 corpus seeds"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(fuzz_decode_smoke PROPERTIES LABELS fuzz TIMEOUT 300)

  # The shared ring's reader and writer over memory a hostile peer keeps
  # rewriting (fuzz_ring.c); ring.c and the codec compiled in, as above.
  add_executable(fuzz_ring ${_fz}/fuzz_ring.c
                 ${PROJECT_SOURCE_DIR}/src/proto/ring.c
                 ${PROJECT_SOURCE_DIR}/src/proto/codec.c)
  target_compile_options(fuzz_ring PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_ring PRIVATE -fsanitize=fuzzer,address,undefined)
  add_test(NAME fuzz_ring_smoke
    COMMAND sh -c "rm -rf ring-corpus && mkdir ring-corpus && ./fuzz_ring -runs=100000 -seed=1 -max_len=70000 ring-corpus"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(fuzz_ring_smoke PROPERTIES LABELS fuzz TIMEOUT 300)
endif()
