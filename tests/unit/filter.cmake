# filter.cmake - unit tests of agent_filter (agent/filter.cmake) and the scanmsg tool;
# include()d from tests/CMakeLists.txt after agent/ is added.
#
#   test_lists      agent/lists.c       patterns, both matchers agree
#   test_verdict    agent/verdict.c     policy parsing (bad fields named) and every rule, in order
#   test_antipub    agent/antipub.c     newsletter signals
#   test_mime_scan  agent/mime_scan.c   inventory, tricks, zip lister, a mutation fuzz loop
#   test_clamd      agent/clamd.c       reply parsing; INSTREAM against a fake clamd
#   test_rspamd     agent/rspamd.c      reply parsing; connection errors
# scanmsg (tests/tools/scanmsg.c): clamd + rspamd + mime_scan + antipub (+ verdict) on one
# message file, JSON on stdout; driven by tests/integration/test_scanners.py.
# Uses tests/CMakeLists.txt's vr_unit() when it is there (same sanitizer environment as the
# other unit tests), else defines the tests itself; programs go to ${CMAKE_BINARY_DIR}/tests.
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

foreach(_filter_test test_lists test_verdict test_antipub test_mime_scan test_clamd test_rspamd)
  if(COMMAND vr_unit)
    vr_unit(${_filter_test} agent_filter)
  else()
    add_executable(${_filter_test} ${CMAKE_CURRENT_LIST_DIR}/${_filter_test}.c)
    target_link_libraries(${_filter_test} PRIVATE agent_filter PkgConfig::CMOCKA)
    add_test(NAME ${_filter_test} COMMAND ${_filter_test})
    set_tests_properties(${_filter_test} PROPERTIES ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
  set_target_properties(${_filter_test} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endforeach()

add_executable(scanmsg ${CMAKE_CURRENT_LIST_DIR}/../tools/scanmsg.c)
target_link_libraries(scanmsg PRIVATE agent_filter)
set_target_properties(scanmsg PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
