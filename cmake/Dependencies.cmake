# Every dependency comes from a Debian 12 package (see deploy/install-deps).
# Minimum versions are the ones Debian 12 ships and the code is written against.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.18.1)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx>=6.4.5)
pkg_check_modules(MAXMINDDB REQUIRED IMPORTED_TARGET libmaxminddb>=1.7)
pkg_check_modules(LDNS REQUIRED IMPORTED_TARGET ldns>=1.8)
pkg_check_modules(IDN2 REQUIRED IMPORTED_TARGET libidn2>=2.3)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.88)
# cpp-httplib: `fluxwatch serve` (web/) and run's /metrics (metrics/); Debian builds it as a
# shared library with TLS and compression on, and the header must see the same defines.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)
find_package(yaml-cpp 0.7 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(Threads REQUIRED)
