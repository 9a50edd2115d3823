# Tokenizer parity: tok_tool exposes src/tokenizer; tokenizer_parity.py compares it with the
# independent Python model ref_tokenizer.py over corpus/*.txt for the three vocabulary sizes
# (exit 77 = skipped when the shared data or the python3 regex module is missing).
if(NOT AURIS_PYTHON)
  set(AURIS_PYTHON /usr/bin/python3)
endif()
add_executable(tok_tool ${CMAKE_CURRENT_SOURCE_DIR}/tok_tool.c)
target_include_directories(tok_tool PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(tok_tool PRIVATE auris)
add_test(NAME reference.tokenizer
         COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer_parity.py
                 --tool $<TARGET_FILE:tok_tool> --data ${AURIS_SHARED_DATA})
set_tests_properties(reference.tokenizer PROPERTIES SKIP_RETURN_CODE 77 LABELS reference)
