# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for the broker core (vbbroker): one binary per source file.
foreach(t config policy batcher stats spawn dispatch)
  vb_unit_test(test_${t}
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_${t}.c
    LIBS vbbroker)
endforeach()
