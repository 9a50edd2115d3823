# AurisVersion.cmake — the version lives in ONE place: the AURIS_VERSION_MAJOR/MINOR/PATCH macros
# of include/auris.h. This file reads them for project(); pyproject.toml reads the same three lines
# with scikit-build-core's regex provider, so the C library, its soname, the .deb and the Python
# wheel can never disagree.
#
# Sets AURIS_VERSION ("0.1.0"), AURIS_VERSION_MAJOR/MINOR/PATCH and AURIS_SOVERSION: the ABI
# version in the soname. While the major version is 0 every minor release may change the ABI
# (structs of auris.h grow), so the soname carries major.minor (libauris.so.0.1); from 1.0 on it
# is the major version alone (libauris.so.1).
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../include/auris.h" _auris_version_lines
     REGEX "^#define AURIS_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
foreach(_part MAJOR MINOR PATCH)
  set(AURIS_VERSION_${_part} "")
  foreach(_line ${_auris_version_lines})
    if(_line MATCHES "^#define AURIS_VERSION_${_part} +([0-9]+)")
      set(AURIS_VERSION_${_part} "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  if(AURIS_VERSION_${_part} STREQUAL "")
    message(FATAL_ERROR "include/auris.h lacks '#define AURIS_VERSION_${_part} N'")
  endif()
endforeach()
set(AURIS_VERSION "${AURIS_VERSION_MAJOR}.${AURIS_VERSION_MINOR}.${AURIS_VERSION_PATCH}")
if(AURIS_VERSION_MAJOR EQUAL 0)
  set(AURIS_SOVERSION "0.${AURIS_VERSION_MINOR}")
else()
  set(AURIS_SOVERSION "${AURIS_VERSION_MAJOR}")
endif()
