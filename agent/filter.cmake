# filter.cmake - agent_filter: vr-agent's filter engine as a library (include()d from
# agent/CMakeLists.txt; the milter links it).
#
#   verdict.c    filter policy parser + the per-recipient decision (pure)
#   lists.c      allow/block list patterns (pure)
#   antipub.c    newsletter classifier (pure)
#   mime_scan.c  GMime 3 inventory of a message, zip lister, attachment policy check
#   clamd.c      clamd INSTREAM client (sockets)
#   rspamd.c     rspamd /checkv2 client (libcurl, jansson)
# Unit tests and the scanmsg tool: tests/unit/filter.cmake.
if(NOT TARGET PkgConfig::GMIME)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
endif()
if(NOT TARGET Threads::Threads)
  find_package(Threads REQUIRED)
endif()

add_library(agent_filter STATIC
  ${CMAKE_CURRENT_LIST_DIR}/verdict.c
  ${CMAKE_CURRENT_LIST_DIR}/lists.c
  ${CMAKE_CURRENT_LIST_DIR}/antipub.c
  ${CMAKE_CURRENT_LIST_DIR}/mime_scan.c
  ${CMAKE_CURRENT_LIST_DIR}/clamd.c
  ${CMAKE_CURRENT_LIST_DIR}/rspamd.c)
target_include_directories(agent_filter PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(agent_filter PUBLIC vrcommon PkgConfig::JANSSON PkgConfig::CURL
                      PkgConfig::GMIME Threads::Threads m)
