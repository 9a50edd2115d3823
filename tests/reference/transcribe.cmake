# End-to-end transcription parity: `auris transcribe ... --output_format json` against the
# PyTorch reference transcribe() (transcribe_ref.py) on random checkpoints (gen_model.py,
# gen_ts_model.py) and espeak-ng speech (make_speech.py), all generated under work-transcribe.
# Exit 77 = skipped (torch/numpy/regex, shared data, espeak-ng/sox or ffmpeg missing).
if(TARGET auris_cli)
  if(NOT AURIS_PYTHON)
    set(AURIS_PYTHON /usr/bin/python3)
  endif()
  foreach(suite micro tiny long)
    add_test(NAME reference.transcribe.${suite}
      COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/transcribe_parity.py --suite ${suite}
              --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
              --work ${CMAKE_CURRENT_BINARY_DIR}/work-transcribe)
    set_tests_properties(reference.transcribe.${suite} PROPERTIES SKIP_RETURN_CODE 77
                         TIMEOUT 300 LABELS reference RESOURCE_LOCK reference_transcribe_work)
  endforeach()
endif()
