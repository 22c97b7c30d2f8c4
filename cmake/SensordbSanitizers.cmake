# SENSORDB_SANITIZE=address,undefined builds everything with those sanitizers.
set(SENSORDB_SANITIZE "" CACHE STRING "Comma-separated sanitizers (address,undefined,thread)")
if(SENSORDB_SANITIZE)
  add_compile_options(-fsanitize=${SENSORDB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SENSORDB_SANITIZE})
endif()
