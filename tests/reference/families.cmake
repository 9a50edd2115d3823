# Every official shape family in every file format: test_families.py writes the same seeded
# random weights (gen_formats.py) as .pt, ggml f16, Hugging Face safetensors and quantized ggml,
# transcribes jfk.wav with the auris command and asserts identical tokens, the large-v3 language
# list, and q8_0 logits within a stated tolerance of f16 (logits_dump: teacher-forced logits of
# one token sequence). Exit 77 = skipped (torch/numpy or the shared data missing).
add_executable(logits_dump ${CMAKE_CURRENT_SOURCE_DIR}/logits_dump.c)
target_include_directories(logits_dump PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(logits_dump PRIVATE auris)
if(TARGET auris_cli)
  if(NOT AURIS_PYTHON)
    set(AURIS_PYTHON /usr/bin/python3)
  endif()
  add_test(NAME reference.families
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_families.py
            --auris $<TARGET_FILE:auris_cli> --logits $<TARGET_FILE:logits_dump>
            --data ${AURIS_SHARED_DATA} --work ${CMAKE_CURRENT_BINARY_DIR}/work-families)
  set_tests_properties(reference.families PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
                       LABELS reference)
endif()
