# AurisInstall.cmake — libauris.so (same objects as libauris.a), the install layout
# (GNUInstallDirs), auris.pc for pkg-config, and a CPack .deb of it all.
#
# Layout under the prefix: lib/libauris.so.<soversion> (+ .so link), lib/libauris.a,
# include/auris.h, lib/pkgconfig/auris.pc, bin/auris. auris.pc locates its prefix from its own
# directory (${pcfiledir}), so an installed tree can be moved (tests install to a temporary
# prefix; the .deb installs under /usr). The auris program links libauris.a and needs no
# library path; model downloads (auris_hub: libcurl, libcrypto) are linked into the program only.
include(GNUInstallDirs)

# (not in libFuzzer builds, whose coverage-instrumented objects are for static fuzz binaries)
if(AURIS_BUILD_SHARED AND NOT AURIS_FUZZ)
  add_library(auris_shared SHARED src/common.c ${AURIS_OBJECTS})
  set_target_properties(auris_shared PROPERTIES OUTPUT_NAME auris VERSION ${AURIS_VERSION}
                        SOVERSION ${AURIS_SOVERSION})
  target_include_directories(auris_shared PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                             PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(auris_shared PRIVATE PkgConfig::FFMPEG PkgConfig::PCRE2 PkgConfig::CJSON
                        ZLIB::ZLIB Threads::Threads m)
  if(NOT AURIS_SANITIZE)
    # every symbol resolved at link time (the sanitizer runtimes are only in executables)
    target_link_options(auris_shared PRIVATE -Wl,--no-undefined -Wl,--as-needed)
  endif()
endif()

install(TARGETS auris ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
if(TARGET auris_shared)
  install(TARGETS auris_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
          NAMELINK_COMPONENT dev)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/include/auris.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev)
if(TARGET auris_cli)
  install(TARGETS auris_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

# auris.pc: prefix relative to the .pc file itself when the directories are relative.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AURIS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AURIS_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(AURIS_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _auris_pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" _auris_pc_up "${_auris_pc_up}")
  set(AURIS_PC_PREFIX "\${pcfiledir}/${_auris_pc_up}")
  set(AURIS_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(AURIS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/auris.pc.in ${CMAKE_BINARY_DIR}/auris.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/auris.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

# ---- .deb: one package "auris" (library, header, auris.pc, program) --------------------------
# Its dependencies are the runtime packages of the -dev libraries it links (libavformat59,
# libpcre2-8-0, libcjson1, libcurl4, libssl3, ...), computed by dpkg-shlibdeps from the binaries;
# a shlibs file and the ldconfig trigger are generated for libauris.so.
# `cpack -G DEB` in the build directory writes auris_<version>_<arch>.deb.
set(CPACK_PACKAGE_NAME auris)
set(CPACK_PACKAGE_VERSION ${AURIS_VERSION})
set(CPACK_PACKAGE_VENDOR "auris")
set(CPACK_PACKAGE_CONTACT "auris developers <auris@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "OpenAI Whisper speech recognition in C: libauris, its header and the auris program")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Linking libauris.a (pkg-config --static) needs the -dev packages; suggest them, do not force them.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libavformat-dev, libavcodec-dev, libavutil-dev, libswresample-dev, libpcre2-dev, libcjson-dev, zlib1g-dev, pkg-config")
set(CPACK_DEB_COMPONENT_INSTALL OFF)
include(CPack)
