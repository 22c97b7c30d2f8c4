find_package(GTest REQUIRED)
include(GoogleTest)
# sensordb_add_test(name SOURCES a.cc b.cc [LIBS x y] [LABELS l]) builds one gtest binary and
# registers each of its tests with CTest.
function(sensordb_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  sensordb_set_warnings(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()
