# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for what broker and devproc share (vbcommon).
vb_unit_test(test_log
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_log.c
  LIBS vbcommon)
