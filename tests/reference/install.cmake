# The installed library (install_check.sh): `cmake --install` to a temporary prefix, a program
# built against it with pkg-config (shared and static), the exported symbols; and the CPack .deb
# installed and removed with dpkg (root only; skipped with 77 otherwise).
# Not in sanitizer builds: programs linking an ASan libauris.so need the sanitizer runtime.
if(TARGET auris_cli AND TARGET auris_shared AND NOT AURIS_SANITIZE)
  foreach(mode prefix deb)
    add_test(NAME reference.install.${mode}
      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_check.sh ${mode} ${CMAKE_BINARY_DIR}
              ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/work-install-${mode})
    set_tests_properties(reference.install.${mode} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                         LABELS reference)
  endforeach()
endif()
