# directory.cmake - the directory module's unit test; include()d from tests/CMakeLists.txt.
#
# test_directory.c tests apid/directory_text.c (escaping, filters, login parsing, AD
# diagnostics, addresses, DNs) and the refusals of apid/directory_ldap.c that happen before
# any connection; it links apid_dir (apid/directory.cmake). Uses tests/CMakeLists.txt's
# vr_unit() when it is there (same sanitizer environment as the other unit tests).
if(NOT TARGET apid_dir)
  return()
endif()
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

if(COMMAND vr_unit AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_directory.c)
  vr_unit(test_directory apid_dir)
else()
  add_executable(test_directory ${CMAKE_CURRENT_LIST_DIR}/test_directory.c)
  target_include_directories(test_directory PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(test_directory PRIVATE apid_dir PkgConfig::CMOCKA)
  add_test(NAME test_directory COMMAND test_directory)
endif()
