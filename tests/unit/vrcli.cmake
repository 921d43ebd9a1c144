# vrcli.cmake - vrcli's unit tests; include()d from tests/CMakeLists.txt.
#
# One cmocka program per vrcli_core source, named after it (test_vrcli_table.c tests
# vrcli/table.c, test_vrcli_kv.c vrcli/kv.c, and so on; test_vrcli_list.c the helpers of
# the mail commands: idlist.c, view.c); each links the vrcli_core library from
# vrcli/CMakeLists.txt.
# Uses tests/CMakeLists.txt's vr_unit() when it is there (same sanitizer environment as
# the other unit tests), else defines the tests itself so the file also stands alone.
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

foreach(_vrcli_test table config errmap args kv list me)
  if(COMMAND vr_unit AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vrcli_${_vrcli_test}.c)
    vr_unit(test_vrcli_${_vrcli_test} vrcli_core)
  else()
    add_executable(test_vrcli_${_vrcli_test}
      ${CMAKE_CURRENT_LIST_DIR}/test_vrcli_${_vrcli_test}.c)
    target_link_libraries(test_vrcli_${_vrcli_test} PRIVATE vrcli_core PkgConfig::CMOCKA)
    add_test(NAME test_vrcli_${_vrcli_test} COMMAND test_vrcli_${_vrcli_test})
  endif()
endforeach()
