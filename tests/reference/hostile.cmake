# Hostile checkpoints: load_model loads one model file and prints its dims or a one-line error;
# test_hostile.py feeds it truncated, bit-flipped, forbidden-global and junk copies of generated
# micro models and asserts clean errors (no signal, no sanitizer report). Sanitizer builds run
# the --quick variant (process start-up dominates there).
add_executable(load_model ${CMAKE_CURRENT_SOURCE_DIR}/load_model.c)
target_include_directories(load_model PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(load_model PRIVATE auris)
set(hostile_model_quick)
if(AURIS_SANITIZE)
  set(hostile_model_quick --quick)
endif()
add_test(NAME hostile.model
  COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_hostile.py
          --tool $<TARGET_FILE:load_model> --data ${AURIS_SHARED_DATA}
          --work ${CMAKE_CURRENT_BINARY_DIR}/work-hostile-model ${hostile_model_quick})
set_tests_properties(hostile.model PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "hostile")
