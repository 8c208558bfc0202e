# Install rules and the Debian package (docs/install.md).
#
#   cmake --install build --prefix /usr          # onto this machine (as root)
#   DESTDIR=/tmp/root cmake --install build --prefix /usr
#   make package                                 # build/hotstandby_VERSION_ARCH.deb (CPack)
#
# Paths outside the prefix (the configuration under /etc, the systemd unit, the udev rule) follow
# Debian 12; each is a cache variable so another layout can move it.
include(GNUInstallDirs)

set(HS_SYSCONF_DIR "/etc/hotstandby" CACHE PATH "Where the configuration is installed")
set(HS_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")
set(HS_UDEV_RULES_DIR "/lib/udev/rules.d" CACHE PATH "Where the udev rule is installed")
set(HS_MIB_DIR "${CMAKE_INSTALL_DATADIR}/snmp/mibs" CACHE PATH "Where HOTSTANDBY-MIB is installed")
set(HS_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
    CACHE PATH "Where the bash completion of hsctl is installed")
set(HS_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/hotstandby")

install(TARGETS hotstandbyd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS hsctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/mibs/HOTSTANDBY-MIB.txt DESTINATION ${HS_MIB_DIR}
        RENAME HOTSTANDBY-MIB)
install(FILES ${CMAKE_SOURCE_DIR}/etc/hotstandbyd.service DESTINATION ${HS_SYSTEMD_UNIT_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/etc/60-hotstandby-ipmi.rules DESTINATION ${HS_UDEV_RULES_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/etc/hotstandbyd.toml DESTINATION ${HS_SYSCONF_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/etc/hsctl.bash-completion DESTINATION ${HS_BASH_COMPLETION_DIR}
        RENAME hsctl)
# The samples for snmpd and snmptrapd are documentation: they belong to other daemons' files.
install(FILES ${CMAKE_SOURCE_DIR}/etc/snmpd.conf ${CMAKE_SOURCE_DIR}/etc/snmptrapd.conf
        DESTINATION ${HS_DOC_DIR}/examples)
file(GLOB HS_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${HS_DOCS} DESTINATION ${HS_DOC_DIR})

# Man pages and the Debian changelog, compressed as Debian wants them (gzip -9n: reproducible).
find_program(HS_GZIP gzip REQUIRED)
set(HS_MAN_PAGES hotstandbyd.8 hsctl.8 hotstandbyd.toml.5)
set(HS_GZ_FILES)
foreach(page ${HS_MAN_PAGES})
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
  set(gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${gz}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${HS_GZIP} -9nc ${CMAKE_SOURCE_DIR}/man/${page} > ${gz}
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${page} VERBATIM)
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  list(APPEND HS_GZ_FILES ${gz})
endforeach()
set(HS_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz)
add_custom_command(OUTPUT ${HS_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND ${HS_GZIP} -9nc ${CMAKE_SOURCE_DIR}/packaging/deb/changelog > ${HS_CHANGELOG_GZ}
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/deb/changelog VERBATIM)
list(APPEND HS_GZ_FILES ${HS_CHANGELOG_GZ})
add_custom_target(hs_install_files ALL DEPENDS ${HS_GZ_FILES})
install(FILES ${HS_CHANGELOG_GZ} ${CMAKE_SOURCE_DIR}/packaging/deb/copyright
        DESTINATION ${HS_DOC_DIR})

# ---- The Debian package ------------------------------------------------------------------------
# SPDX-License-Identifier: GPL-3.0-or-later (LICENSE; the package's copyright file says so).
set(CPACK_GENERATOR DEB)
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_NAME hotstandby)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "hotstandby maintainers <hotstandby@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "hot-standby daemon for dual chassis management modules")
# CPack writes the summary as the synopsis line and this as the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "hotstandbyd runs on both management modules of a chassis: one is active and
drives the chassis through IPMI (power, fans, sensors), the other is standby
and takes over only when every heartbeat path (UDP or TCP, serial) is down.
An AgentX subagent publishes HOTSTANDBY-MIB to snmpd; hsctl is an
ipmitool-style command line tool for operators.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/hotstandby")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "snmpd, snmptrapd, ipmitool")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/prerm ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
