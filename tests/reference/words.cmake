# Word-level timestamps parity: `auris transcribe --word_timestamps True --output_format json`
# (with and without --hallucination_silence_threshold) against timing_ref.transcribe_words() on
# random timestamp-emitting checkpoints (gen_ts_model.py) and espeak-ng speech (make_speech.py).
# Shares the work-transcribe scratch dir (cached models and clips) with transcribe.cmake, hence
# the same resource lock. Exit 77 = skipped (torch/numpy/regex, shared data, espeak-ng/sox or
# ffmpeg missing).
if(TARGET auris_cli)
  if(NOT AURIS_PYTHON)
    set(AURIS_PYTHON /usr/bin/python3)
  endif()
  foreach(suite short cjk long long-hst)
    add_test(NAME reference.words.${suite}
      COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/words_parity.py --suite ${suite}
              --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
              --work ${CMAKE_CURRENT_BINARY_DIR}/work-transcribe)
    # long-hst runs beside the clang and sanitizer builds (scripts/test.sh): 175 s alone on a
    # slow day, past 300 s when those builds share its cores, so it gets room for that
    if(suite STREQUAL "long-hst")
      set(words_timeout 900)
    else()
      set(words_timeout 300)
    endif()
    set_tests_properties(reference.words.${suite} PROPERTIES SKIP_RETURN_CODE 77
                         TIMEOUT ${words_timeout} LABELS reference RESOURCE_LOCK reference_transcribe_work)
  endforeach()
endif()
