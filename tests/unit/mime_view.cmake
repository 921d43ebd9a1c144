# mime_view.cmake - the quarantine viewer's unit test; include()d from tests/CMakeLists.txt.
#
# test_mime_view.c tests apid/mime_view.c: table cases (messages as C strings or as
# tests/unit/golden/mime/*.eml), full-output golden files (golden/mime/<case>.json,
# VR_UPDATE_GOLDEN=1 rewrites them), invariants over mutated messages, and concurrent calls.
# Links apid_mime (apid/mime_view.cmake); built into ${CMAKE_BINARY_DIR}/tests.
if(NOT TARGET apid_mime)
  return()
endif()
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
find_package(Threads REQUIRED)

add_executable(test_mime_view ${CMAKE_CURRENT_LIST_DIR}/test_mime_view.c)
set_target_properties(test_mime_view PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests)
target_include_directories(test_mime_view PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(test_mime_view PRIVATE
  VR_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden/mime")
target_link_libraries(test_mime_view PRIVATE apid_mime PkgConfig::CMOCKA Threads::Threads)
add_test(NAME test_mime_view COMMAND test_mime_view)
set_tests_properties(test_mime_view PROPERTIES ENVIRONMENT
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
