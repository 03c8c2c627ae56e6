# Common compile settings and helpers for faxd targets.

set(FAXD_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers)

add_library(faxd_options INTERFACE)
target_compile_options(faxd_options INTERFACE ${FAXD_WARNINGS})
if(FAXD_SANITIZE)
    target_compile_options(faxd_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                  -fno-sanitize-recover=undefined)
    target_link_options(faxd_options INTERFACE -fsanitize=address,undefined)
endif()
if(FAXD_FUZZ)
    target_compile_options(faxd_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                  -fno-omit-frame-pointer)
    target_link_options(faxd_options INTERFACE -fsanitize=address,undefined)
endif()

# faxd_add_library(NAME SOURCES... [DEPS ...]) -> library faxd_NAME with include root src/.
function(faxd_add_library name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
    add_library(faxd_${name} STATIC ${ARG_SOURCES})
    target_include_directories(faxd_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(faxd_${name} PUBLIC faxd_options ${ARG_DEPS})
endfunction()

# faxd_add_test(NAME LABEL SOURCES... DEPS ...): a GoogleTest executable whose cases ctest runs in parallel.
function(faxd_add_test name)
    cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
    if(NOT FAXD_BUILD_TESTS)
        return()
    endif()
    if(NOT ARG_LABEL)
        set(ARG_LABEL unit)
    endif()
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 600)
    endif()
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE faxd_options ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
    gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT} DISCOVERY_TIMEOUT 60)
endfunction()
