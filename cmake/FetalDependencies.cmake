# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them).
# Under Emscripten the host's /usr/include must never be searched (glibc headers shadow musl),
# so header-only libraries are reached through folders that hold only a symlink to them.

if(EMSCRIPTEN)
  set(FETAL_EM_INCLUDE ${CMAKE_BINARY_DIR}/em-include)
  file(MAKE_DIRECTORY ${FETAL_EM_INCLUDE})
  if(NOT EXISTS ${FETAL_EM_INCLUDE}/nlohmann)
    file(CREATE_LINK /usr/include/nlohmann ${FETAL_EM_INCLUDE}/nlohmann SYMBOLIC)
  endif()
  add_library(fetal_nlohmann_json INTERFACE)
  target_include_directories(fetal_nlohmann_json SYSTEM INTERFACE ${FETAL_EM_INCLUDE})
  add_library(nlohmann_json::nlohmann_json ALIAS fetal_nlohmann_json)
  find_package(Eigen3 3.4 REQUIRED NO_MODULE PATHS /usr/share/eigen3/cmake NO_CMAKE_FIND_ROOT_PATH)
  return()
endif()

find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# libxgboost: Debian's CMake config needs the separate `xgboost` package; link the library directly.
find_library(XGBOOST_LIBRARY NAMES xgboost REQUIRED)
find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
add_library(fetal_xgboost INTERFACE)
target_link_libraries(fetal_xgboost INTERFACE ${XGBOOST_LIBRARY})
target_include_directories(fetal_xgboost SYSTEM INTERFACE ${XGBOOST_INCLUDE_DIR})

if(FETAL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FETAL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
if(FETAL_BUILD_SERVER)
  # Debian ships cpp-httplib compiled, with pkg-config only; keep its -DCPPHTTPLIB_* flags.
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  # The static files' compressed copies (server/compressed_files.h).
  pkg_check_modules(BROTLIENC REQUIRED IMPORTED_TARGET libbrotlienc)
  find_package(ZLIB REQUIRED)
  find_package(SQLite3 REQUIRED)
  pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
endif()
