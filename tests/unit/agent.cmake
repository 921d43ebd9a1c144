# agent.cmake - vr-agent's unit tests; include()d from tests/CMakeLists.txt.
#
#   test_snapshot          agent/snapshot.c        parse and validate (agent_core)
#   test_render_postfix    agent/render_postfix.c  against the golden files in
#                          tests/unit/golden/postfix/<case>/ (VR_UPDATE_GOLDEN=1 in the
#                          environment rewrites them) (agent_core)
#   test_milter_helpers    agent/msgbuf.c, outbox.c, milter_meta.c: the milter's parts that
#                          need no libmilter (agent_milter_core)
# Libraries: agent/CMakeLists.txt. Uses tests/CMakeLists.txt's vr_unit() when it is there
# (same sanitizer environment as the other unit tests), else defines the tests itself.
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

foreach(_agent_test test_snapshot:agent_core test_render_postfix:agent_core
                    test_milter_helpers:agent_milter_core)
  string(REPLACE ":" ";" _agent_pair ${_agent_test})
  list(GET _agent_pair 0 _agent_name)
  list(GET _agent_pair 1 _agent_lib)
  if(COMMAND vr_unit)
    vr_unit(${_agent_name} ${_agent_lib})
  else()
    add_executable(${_agent_name} ${CMAKE_CURRENT_LIST_DIR}/${_agent_name}.c)
    target_link_libraries(${_agent_name} PRIVATE ${_agent_lib} PkgConfig::CMOCKA)
    add_test(NAME ${_agent_name} COMMAND ${_agent_name})
    set_target_properties(${_agent_name} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  endif()
endforeach()
target_compile_definitions(test_render_postfix PRIVATE
  VR_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden/postfix")
