# agent.cmake - vr-agent's unit tests; include()d from tests/CMakeLists.txt.
#
# test_snapshot tests agent/snapshot.c; test_render_postfix tests agent/render_postfix.c
# against the golden files in tests/unit/golden/postfix/<case>/ (VR_UPDATE_GOLDEN=1 in the
# environment rewrites them). Both link agent_core (agent/CMakeLists.txt). Uses
# tests/CMakeLists.txt's vr_unit() when it is there (same sanitizer environment as the other
# unit tests), else defines the tests itself.
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

foreach(_agent_test test_snapshot test_render_postfix)
  if(COMMAND vr_unit)
    vr_unit(${_agent_test} agent_core)
  else()
    add_executable(${_agent_test} ${CMAKE_CURRENT_LIST_DIR}/${_agent_test}.c)
    target_link_libraries(${_agent_test} PRIVATE agent_core PkgConfig::CMOCKA)
    add_test(NAME ${_agent_test} COMMAND ${_agent_test})
  endif()
endforeach()
target_compile_definitions(test_render_postfix PRIVATE
  VR_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden/postfix")
