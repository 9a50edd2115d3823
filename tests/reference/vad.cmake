# Silero VAD parity (vad_parity.py): probabilities against the official model (silero-vad's ONNX
# model on onnxruntime) and a numpy re-implementation, segments against get_speech_timestamps,
# jfk.wav against whisper.cpp's segment list; hostile model files through the CLI.
# Exit 77 = skipped (venv packages of tests/requirements/vad.txt, espeak-ng/sox or shared data).
if(TARGET auris_cli)
  if(NOT AURIS_VENV_PYTHON)
    set(AURIS_VENV_PYTHON ${CMAKE_SOURCE_DIR}/build/venv/bin/python)
  endif()
  foreach(suite probs segments whispercpp)
    add_test(NAME reference.vad.${suite}
      COMMAND ${AURIS_VENV_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/vad_parity.py --suite ${suite}
              --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
              --work ${CMAKE_CURRENT_BINARY_DIR}/work-vad)
    set_tests_properties(reference.vad.${suite} PROPERTIES SKIP_RETURN_CODE 77
                         TIMEOUT 300 LABELS reference RESOURCE_LOCK reference_vad_work)
  endforeach()
endif()
# Hostile VAD model files through `auris vad` (truncations, bit flips, targeted corruptions).
if(TARGET auris_cli)
  set(vad_hostile_quick)
  if(AURIS_SANITIZE)
    set(vad_hostile_quick --quick)
  endif()
  add_test(NAME hostile.vad
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/vad_hostile.py
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-vad-hostile ${vad_hostile_quick})
  set_tests_properties(hostile.vad PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS hostile)
endif()
# `auris transcribe --vad True` (and --batch_size) on espeak-ng parts separated by 20 s of
# silence or noise, silence and noise alone: tokens equal hand-cut chunks, times mapped back.
if(TARGET auris_cli)
  add_test(NAME reference.vad.transcribe
    COMMAND ${AURIS_VENV_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/vad_transcribe.py
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-vad-transcribe)
  set_tests_properties(reference.vad.transcribe PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                       LABELS reference)
endif()
# The native VAD file: `auris convert` of the ggml model gives byte-identical `auris vad` output
# (segments and probabilities); `auris info` describes VAD files (vad_native.py).
if(TARGET auris_cli)
  add_test(NAME reference.vad.native
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/vad_native.py
            --auris $<TARGET_FILE:auris_cli> --data ${AURIS_SHARED_DATA}
            --work ${CMAKE_CURRENT_BINARY_DIR}/work-vad-native)
  set_tests_properties(reference.vad.native PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                       LABELS reference)
endif()
