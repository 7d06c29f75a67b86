# SPDX-License-Identifier: BSD-3-Clause
# The sim backend and its page store, as a static library the broker and
# the unit tests link. Included from src/broker/CMakeLists.txt (and, as a
# fallback, from tests/unit/proto.cmake), so paths are absolute.
if(NOT TARGET vbsim)
  add_library(vbsim STATIC
    ${CMAKE_CURRENT_LIST_DIR}/sim_store.c
    ${CMAKE_CURRENT_LIST_DIR}/backend_sim.c)
  target_link_libraries(vbsim PUBLIC vbcommon)
endif()
