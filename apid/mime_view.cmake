# mime_view.cmake - the quarantine message viewer; include()d from apid/CMakeLists.txt.
#
#   apid_mime   mime_view.c: a raw RFC 5322 file as display JSON (decoded headers,
#               attachments, plain-text preview). The only target that links GMime; it needs
#               vrcommon (log.h, buf.h, vrtime.h) and jansson, nothing of HTTP or SQL.
find_package(PkgConfig REQUIRED)
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)

add_library(apid_mime STATIC ${CMAKE_CURRENT_LIST_DIR}/mime_view.c)
target_include_directories(apid_mime PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# jansson is PUBLIC: mime_view.h returns json_t; GMime stays an implementation detail
target_link_libraries(apid_mime PUBLIC vrcommon PkgConfig::JANSSON PRIVATE PkgConfig::GMIME)
