# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for the broker core (vbbroker): one binary per source file.
foreach(t config policy batcher stats spawn dispatch memory reaper)
  vb_unit_test(test_${t}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_${t}.c
    LIBS vbbroker)
endforeach()
# test_config also parses the shipped examples and docs/config.md's file
target_compile_definitions(test_config PRIVATE VB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# The broker's own sandbox: compiles and loads the real seccomp/broker.policy.
vb_unit_test(test_broker_sandbox
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_broker_sandbox.c
  LIBS vbbroker vbsandbox)
target_compile_definitions(test_broker_sandbox PRIVATE
  VB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
if(VB_KERNEL_UAPI_DIR AND EXISTS ${VB_KERNEL_UAPI_DIR}/linux/iommufd.h)
  target_compile_options(test_broker_sandbox PRIVATE -idirafter ${VB_KERNEL_UAPI_DIR})
endif()

# The event loop itself, compiled in with the rings and the batcher stubbed
# by the test (so vbbroker's peer_ring.o and batcher.o are never linked).
vb_unit_test(test_loop
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_loop.c
          ${PROJECT_SOURCE_DIR}/src/broker/loop.c
  LIBS vbbroker)
