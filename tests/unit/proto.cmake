# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for the wire codec, the shared ring and the sim backend (page store + ops).
vb_unit_test(test_codec
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_codec.c
  LIBS vbproto)
vb_unit_test(test_ring
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_ring.c
  LIBS vbproto)

# vbsim normally comes from src/broker/CMakeLists.txt; sim.cmake guards
# against defining it twice, so including it here is harmless.
include(${PROJECT_SOURCE_DIR}/src/broker/sim.cmake)
vb_unit_test(test_sim_store
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_sim_store.c
  LIBS vbsim)
vb_unit_test(test_backend_sim
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_backend_sim.c
  LIBS vbsim)

# The fuzz smoke test lives with the codec it drives (clang only).
include(${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
