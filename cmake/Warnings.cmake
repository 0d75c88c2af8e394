# One place for warning flags; applied to every fluxwatch target via fluxwatch_warnings.
add_library(fluxwatch_warnings INTERFACE)
target_compile_options(fluxwatch_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
                       -Woverloaded-virtual -Wnull-dereference -Wformat=2)
if(FLUXWATCH_WERROR)
  target_compile_options(fluxwatch_warnings INTERFACE -Werror)
endif()
if(FLUXWATCH_FUZZ)
  # Coverage instrumentation for every library the fuzz targets link; each target adds
  # -fsanitize=fuzzer (libFuzzer's main) itself.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(FLUXWATCH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
