# The Python package (pyproject.toml, python/auris): a fresh venv, `pip install .`, then the
# package's results against the CLI's JSON and against openai-whisper (python_package.py).
# Exit 77 = skipped (PyPI unreachable, python3-venv/torch/shared data missing, or no
# openai-whisper in AURIS_VENV_PYTHON for the side-by-side part).
if(TARGET auris_cli)
  add_test(NAME reference.python
    COMMAND ${AURIS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python_package.py
            --source ${CMAKE_SOURCE_DIR} --auris $<TARGET_FILE:auris_cli>
            --data ${AURIS_SHARED_DATA} --work ${CMAKE_CURRENT_BINARY_DIR}/work-python
            --requirements ${CMAKE_SOURCE_DIR}/tests/requirements/python.txt
            --whisper-python ${AURIS_VENV_PYTHON})
  set_tests_properties(reference.python PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                       LABELS reference)
endif()
