# Every dependency comes from a Debian 12 package (see deploy/install-deps).
# Minimum versions are the ones Debian 12 ships and the code is written against.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.18.1)
# The crawler relies on c-ares 1.18 internals (crawler/src/crawler_impl.h: the FORMERR
# masking, the EDNS cut of UDP answers, the retry timing). Another version must fail the
# build here, loudly, rather than give a crawler that measures differently.
if(CARES_VERSION VERSION_LESS 1.18 OR NOT CARES_VERSION VERSION_LESS 1.19)
  message(FATAL_ERROR
    "c-ares ${CARES_VERSION} found, but fluxwatch's crawler is written against c-ares 1.18.x "
    "internals (see crawler/src/crawler_impl.h). Build against c-ares 1.18 (Debian 12's "
    "libc-ares-dev), or port the crawler's socket functions and reply filter first.")
endif()
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
# libpqxx's pkg-config file does not list libpq, but storage calls PQconninfoParse() to
# describe a DSN in error messages.
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
# fetch: GeoIP archives, gzip feeds, SHA-256 of HTTP probe bodies.
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive>=3.6)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib>=1.2.11)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto>=3.0)
if(FLUXWATCH_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
