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
