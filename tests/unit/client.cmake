# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for the client library, the sandbox and the devproc's
# testable parts.
vb_unit_test(test_filter SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_filter.c
  LIBS vbsandbox)
target_compile_definitions(test_filter PRIVATE _GNU_SOURCE
  VB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
vb_unit_test(test_sandbox SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_sandbox.c
  LIBS vbsandbox)
target_compile_definitions(test_sandbox PRIVATE _GNU_SOURCE
  VB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
vb_unit_test(test_client SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_client.c
  LIBS vfiobroker vbproto)
target_compile_definitions(test_client PRIVATE _GNU_SOURCE)
vb_unit_test(test_lru SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_lru.c
  LIBS vbdevproc)
vb_unit_test(test_guest_mem SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_guest_mem.c
  LIBS vbdevproc)
target_compile_definitions(test_guest_mem PRIVATE _GNU_SOURCE)
vb_unit_test(test_replay_trace
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_replay_trace.c LIBS vbdevproc)
target_compile_definitions(test_replay_trace PRIVATE
  VB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# The client header from C++ (no Check: a plain pass/fail program).
add_executable(test_client_cxx ${CMAKE_CURRENT_SOURCE_DIR}/test_client_cxx.cpp)
target_link_libraries(test_client_cxx PRIVATE vfiobroker)
# Built with the project's full warning set (-Wshadow included) under
# -Werror, as a C++ user of the header would.
add_test(NAME test_client_cxx COMMAND test_client_cxx)
set_tests_properties(test_client_cxx PROPERTIES LABELS unit)

# vfio-devproc's command line: --help works, bad arguments are refused
# before anything else happens.
set(_expect ${CMAKE_CURRENT_SOURCE_DIR}/expect_exit.sh)
add_test(NAME devproc_help COMMAND ${_expect} 0
  "^usage: vfio-devproc" "--selftest-forbidden-syscall" --
  $<TARGET_FILE:vfio-devproc> --help)
set_tests_properties(devproc_help PROPERTIES LABELS unit)
foreach(bad "--workload;virtio-iommu"
            "--socket-fd;5;--connect;/x;--workload;coiommu"
            "--socket-fd;5;--workload;nosuch"
            "--socket-fd;5;--workload;replay"
            "--socket-fd;5;--workload;coiommu;--trace;/x"
            "--socket-fd;1;--workload;coiommu"
            "--socket-fd;5;--workload;coiommu;--pages;-1"
            "--socket-fd;5;--workload;coiommu;--pages;+1"
            "--socket-fd;5;--workload;coiommu;--pages;0x"
            "--socket-fd;5;--workload;coiommu;--pages;0x0x10"
            "--socket-fd;5;--workload;coiommu;--pipeline;65537"
            "--socket-fd;5;--workload;coiommu;extra"
            "--socket-fd;5;--workload;replay;--trace;/x;--keep-mapped")
  string(MD5 h "${bad}")
  string(SUBSTRING "${h}" 0 6 h)
  # refused by the argument parser itself (exit 1), not by some later step
  add_test(NAME devproc_badargs_${h} COMMAND ${_expect} 1
    "error: devproc_(parse|num): " -- $<TARGET_FILE:vfio-devproc> ${bad})
  set_tests_properties(devproc_badargs_${h} PROPERTIES LABELS unit)
endforeach()
vb_unit_test(test_workloads SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_workloads.c
  LIBS vbdevproc vbproto)
target_compile_definitions(test_workloads PRIVATE _GNU_SOURCE)
