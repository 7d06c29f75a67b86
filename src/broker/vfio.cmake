# SPDX-License-Identifier: BSD-3-Clause
# The real-VFIO backends (v3, type1, iommufd) and backend probing: static
# lib vbvfio. Included by src/broker/CMakeLists.txt (or, until it does, by
# tests/conformance); paths are absolute so either works.
if(TARGET vbvfio)
  return()
endif()

add_library(vbvfio STATIC
  ${CMAKE_CURRENT_LIST_DIR}/backend_vfio.c
  ${CMAKE_CURRENT_LIST_DIR}/backend_runs.c
  ${CMAKE_CURRENT_LIST_DIR}/backend_iommufd.c
  ${CMAKE_CURRENT_LIST_DIR}/backend_probe.c)
target_link_libraries(vbvfio PUBLIC vbcommon)

# VB_KERNEL_UAPI_DIR (top CMakeLists.txt) is searched after the system
# headers, for backend_iommufd.c only, so nothing the system has is replaced.
if(VB_KERNEL_UAPI_DIR AND EXISTS ${VB_KERNEL_UAPI_DIR}/linux/iommufd.h)
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/backend_iommufd.c
    PROPERTIES COMPILE_OPTIONS "-idirafter;${VB_KERNEL_UAPI_DIR}")
  message(STATUS "iommufd backend: uAPI from ${VB_KERNEL_UAPI_DIR}")
elseif(NOT EXISTS /usr/include/linux/iommufd.h)
  message(STATUS "iommufd backend: no <linux/iommufd.h>, built as a stub")
endif()
