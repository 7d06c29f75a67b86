# SPDX-License-Identifier: BSD-3-Clause
# Unit tests for the wire codec and the sim backend's page store.
vb_unit_test(test_codec
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_codec.c
  LIBS vbproto)
