# directory.cmake - the directory (LDAP / Active Directory) login module; include()d from
# apid/CMakeLists.txt.
#
#   apid_dir   directory_text.c (pure helpers) + directory_ldap.c (libldap I/O): the only
#              target that links libldap. Its header needs apid/roles.h and role_name()
#              (roles.c, in apid_db), so it links apid_db.
#   dirlogin   tests/tools/dirlogin.c: a CLI over the module that prints one JSON result,
#              used by tests/integration/test_directory_login.py; built into
#              ${CMAKE_BINARY_DIR}/tests.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LDAP IMPORTED_TARGET ldap)
if(LDAP_FOUND)
  set(VR_LDAP_LIBS PkgConfig::LDAP)
else()
  find_path(LDAP_INCLUDE_DIR ldap.h REQUIRED)
  find_library(LDAP_LIB ldap REQUIRED)
  find_library(LBER_LIB lber REQUIRED)
  set(VR_LDAP_LIBS ${LDAP_LIB} ${LBER_LIB})
endif()

add_library(apid_dir STATIC ${CMAKE_CURRENT_LIST_DIR}/directory_text.c
            ${CMAKE_CURRENT_LIST_DIR}/directory_ldap.c)
target_include_directories(apid_dir PUBLIC ${CMAKE_CURRENT_LIST_DIR})
if(NOT LDAP_FOUND)
  target_include_directories(apid_dir PRIVATE ${LDAP_INCLUDE_DIR})
endif()
# LDAP_DEPRECATED stays off: only the ldap_*_ext / _len / sasl_bind API is used
target_link_libraries(apid_dir PUBLIC apid_db vrcommon PRIVATE ${VR_LDAP_LIBS})

add_executable(dirlogin ${PROJECT_SOURCE_DIR}/tests/tools/dirlogin.c)
set_target_properties(dirlogin PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_link_libraries(dirlogin PRIVATE apid_dir vrcommon PkgConfig::JANSSON)
