# Native format: convert_tool writes a native file from any checkpoint (auris__native_write, so
# the tests do not depend on the CLI wiring of `auris convert`); test_native.py converts
# generated models and checks tokens, logits tolerances and memory through the auris CLI.
add_executable(convert_tool ${CMAKE_CURRENT_SOURCE_DIR}/convert_tool.c)
target_include_directories(convert_tool PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(convert_tool PRIVATE auris)
# Sanitizer builds run the --quick variant (micro model only, no memory figures).
set(native_quick)
if(AURIS_SANITIZE)
  set(native_quick --quick)
endif()
if(TARGET auris_cli)
  add_test(NAME reference.native
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_native.py
            --auris $<TARGET_FILE:auris_cli> --convert $<TARGET_FILE:convert_tool>
            --data ${AURIS_SHARED_DATA} --work ${CMAKE_CURRENT_BINARY_DIR}/work-native ${native_quick})
  set_tests_properties(reference.native PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS "reference")
endif()
