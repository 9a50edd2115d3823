# CTranslate2 (faster-whisper) directories, test_ct2.py:
#   reference.ct2.synthetic — random weights written by ct2_model.py in every dtype: the float
#     ones give the .pt's (or bfloat16 HF directory's) tokens, int8 loads, transcribes and
#     converts, and hostile variants fail with one-line errors (Debian's python3; ASan too);
#   reference.ct2.converter — the random HF tiny model through ctranslate2's own converter:
#     auris's tokens equal the HF directory's (float types) and faster-whisper's (every type,
#     int8 included), and the int8 load's peak RSS stays near its file size. Needs the test venv
#     (tests/requirements/ct2.txt); exit 77 (skipped) without it.
if(TARGET auris_cli)
  if(NOT AURIS_PYTHON)
    set(AURIS_PYTHON /usr/bin/python3)
  endif()
  add_test(NAME reference.ct2.synthetic
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_ct2.py synthetic
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-ct2-synthetic)
  set_tests_properties(reference.ct2.synthetic PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                       LABELS "reference;hostile")
  # convert_tool (native.cmake) prints a session's buffer bytes for the memory figure
  add_test(NAME reference.ct2.converter
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_ct2.py converter
            --venv-python ${AURIS_VENV_PYTHON}
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-ct2-converter
            --convert-tool $<TARGET_FILE:convert_tool>)
  set_tests_properties(reference.ct2.converter PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
                       LABELS "reference")
endif()
