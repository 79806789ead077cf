# Toolchain file: cross-compile for arm64 Linux with Debian's cross compilers
# (apt-get install g++-aarch64-linux-gnu). Used for the arm64 guest agent:
#   cmake -DCMAKE_TOOLCHAIN_FILE=harness/cmake/aarch64-linux-gnu.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(KH_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${KH_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${KH_CROSS_TRIPLE}-g++)

# Debian's multiarch cross sysroot (libc6-dev-arm64-cross,
# libstdc++-12-dev-arm64-cross). Libraries and headers come from there only,
# never from the host's /usr; programs (the build tools) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${KH_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
