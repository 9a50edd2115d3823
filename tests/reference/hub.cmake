# Model hub: hub_tool resolves names through src/hub; test_download.py runs it against a local
# HTTP server on 127.0.0.1 (http_server.py: Range requests, hash mismatches, server errors,
# dropped connections) with a temporary AURIS_CACHE. Only Python's standard library is needed.
# The unit test test_hub.c (globbed by tests/CMakeLists.txt) also needs the hub library.
if(TARGET auris_hub)
  add_executable(hub_tool ${CMAKE_CURRENT_SOURCE_DIR}/hub_tool.c)
  target_link_libraries(hub_tool PRIVATE auris_hub)
  if(TARGET test_hub)
    target_link_libraries(test_hub PRIVATE auris_hub)
  endif()

  set(hub_python ${AURIS_PYTHON})
  if(NOT EXISTS "${hub_python}")
    find_program(hub_python_found NAMES python3)
    set(hub_python ${hub_python_found})
  endif()
  if(hub_python)
    add_test(NAME hostile.download
      COMMAND ${hub_python} ${CMAKE_CURRENT_SOURCE_DIR}/test_download.py
              --tool $<TARGET_FILE:hub_tool> --data ${AURIS_SHARED_DATA}
              --work ${CMAKE_CURRENT_BINARY_DIR}/work-download)
  else()
    add_test(NAME hostile.download COMMAND sh -c "echo 'python3 not found: skipped'; exit 77")
  endif()
  set_tests_properties(hostile.download PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                       LABELS "hostile")
endif()
