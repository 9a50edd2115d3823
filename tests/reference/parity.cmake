# Stage-by-stage parity with the PyTorch reference: auris_dump writes auris's PCM, log-Mel,
# encoder output, greedy result and teacher-forced logits; parity.py compares them with
# whisper_ref.py on random checkpoints from gen_model.py (cached under work/models).
# Exit 77 = skipped (shared data, torch, numpy, regex or ffmpeg missing).
if(NOT AURIS_PYTHON)
  set(AURIS_PYTHON /usr/bin/python3)
endif()
add_executable(auris_dump ${CMAKE_CURRENT_SOURCE_DIR}/auris_dump.c)
target_include_directories(auris_dump PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(auris_dump PRIVATE auris)
# Sanitizer builds are ~4x slower: --quick keeps the tiny runs to jfk.wav.
set(parity_quick)
if(AURIS_SANITIZE)
  set(parity_quick --quick)
endif()
foreach(suite micro tiny formats)
  if(suite STREQUAL "formats")
    set(test_name reference.formats)
  else()
    set(test_name reference.parity.${suite})
  endif()
  add_test(NAME ${test_name}
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/parity.py --suite ${suite}
            --dump $<TARGET_FILE:auris_dump> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work ${parity_quick})
  set_tests_properties(${test_name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                       LABELS reference RESOURCE_LOCK reference_parity_work)
endforeach()
