# The auris command end to end: flag errors, bad inputs, multi-file runs, stdin, JSON shape.
if(TARGET auris_cli)
  add_test(NAME hostile.cli
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.py
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-cli)
  set_tests_properties(hostile.cli PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "hostile")
endif()
