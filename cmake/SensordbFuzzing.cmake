# Fuzz targets (fuzz/). Two builds use them:
#
# - Every build with tests: each target is linked with fuzz/replay_main.cc and ctest replays its
#   seed corpus (fuzz/corpus/<target>/), so a fixed finding stays fixed in `make test`.
# - SENSORDB_FUZZ=ON (`make fuzz`): everything is compiled with coverage hooks
#   (-fsanitize-coverage=trace-pc,trace-cmp) and each target links libFuzzer's engine.
#
# Why not clang: clang 14 (Debian 12) cannot compile libstdc++ 12's <expected>, which every part
# of sensordb uses. So g++ instruments the code and the libFuzzer engine comes from clang 14's
# runtime (libclang-rt-14-dev). That engine refuses GCC's trace-pc callback, so the build links
# a copy of it with that symbol weakened, and fuzz/coverage.cc maps each callback's return
# address to one of libFuzzer's 8-bit counters (AFL-style edge hashing).
option(SENSORDB_FUZZ "Build fuzz targets with libFuzzer and coverage hooks" OFF)

if(SENSORDB_FUZZ)
  if(NOT SENSORDB_SANITIZE)
    message(FATAL_ERROR "SENSORDB_FUZZ needs SENSORDB_SANITIZE (e.g. address,undefined)")
  endif()
  file(GLOB _fuzzer_archives
       /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
  list(SORT _fuzzer_archives)
  list(REVERSE _fuzzer_archives)
  list(GET _fuzzer_archives 0 SENSORDB_LIBFUZZER_ARCHIVE)
  if(NOT SENSORDB_LIBFUZZER_ARCHIVE)
    message(FATAL_ERROR "libFuzzer not found: install libclang-rt-14-dev (tools/bootstrap.sh)")
  endif()
  find_program(SENSORDB_OBJCOPY objcopy REQUIRED)
  set(SENSORDB_LIBFUZZER "${CMAKE_BINARY_DIR}/libfuzzer-engine.a")
  add_custom_command(
    OUTPUT ${SENSORDB_LIBFUZZER}
    COMMAND ${SENSORDB_OBJCOPY} -W __sanitizer_cov_trace_pc ${SENSORDB_LIBFUZZER_ARCHIVE}
            ${SENSORDB_LIBFUZZER}
    DEPENDS ${SENSORDB_LIBFUZZER_ARCHIVE}
    COMMENT "libFuzzer engine with GCC's trace-pc callback left to fuzz/coverage.cc")
  add_custom_target(sensordb_libfuzzer_engine DEPENDS ${SENSORDB_LIBFUZZER})
  add_compile_options(-fsanitize-coverage=trace-pc,trace-cmp)
endif()

# sensordb_add_fuzzer(name SOURCES a.cc [LIBS x y]): one fuzz target, fuzz/corpus/<name>/ its seeds.
function(sensordb_add_fuzzer name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  sensordb_set_warnings(${name})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  set(corpus "${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name}")
  if(SENSORDB_FUZZ)
    target_link_libraries(${name} PRIVATE sensordb_fuzz_coverage ${SENSORDB_LIBFUZZER})
    add_dependencies(${name} sensordb_libfuzzer_engine)
    add_dependencies(fuzzers ${name})
  else()
    target_link_libraries(${name} PRIVATE sensordb_fuzz_replay)
    add_test(NAME fuzz_replay.${name} COMMAND ${name} ${corpus})
    set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endfunction()
