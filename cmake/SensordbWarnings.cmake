# Warnings for every sensordb target; SENSORDB_WERROR (on in CI) turns them into errors.
option(SENSORDB_WERROR "Treat warnings as errors" OFF)
function(sensordb_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                         $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor> -Wimplicit-fallthrough)
  if(SENSORDB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
