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

# vfio-broker's command line: --help works, bad arguments are refused
# before anything is opened (exit 2).
set(_expect ${CMAKE_CURRENT_SOURCE_DIR}/expect_exit.sh)
add_test(NAME broker_help COMMAND ${_expect} 0 "^usage: vfio-broker" --
  $<TARGET_FILE:vfio-broker> --help)
add_test(NAME broker_badargs_empty_control COMMAND ${_expect} 2
  "empty path given" -- $<TARGET_FILE:vfio-broker> -c x --control "")
add_test(NAME broker_badargs_empty_socket COMMAND ${_expect} 2
  "empty path given" -- $<TARGET_FILE:vfio-broker> -c x -s "")
add_test(NAME broker_badargs_empty_config COMMAND ${_expect} 2
  "empty path given" -- $<TARGET_FILE:vfio-broker> -c "")
add_test(NAME broker_badargs_progress COMMAND ${_expect} 2
  "--progress needs" -- $<TARGET_FILE:vfio-broker> -c x --progress 0)
add_test(NAME broker_badargs_extra COMMAND ${_expect} 2
  "^usage: vfio-broker" -- $<TARGET_FILE:vfio-broker> -c x extra)
set_tests_properties(broker_help broker_badargs_empty_control
  broker_badargs_empty_socket broker_badargs_empty_config
  broker_badargs_progress broker_badargs_extra PROPERTIES LABELS unit)
