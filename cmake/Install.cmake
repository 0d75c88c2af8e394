# `cmake --install` and `cpack -G DEB`: the binary (app/), the example config, the systemd
# units and sysusers file, the man page, bash completion, Prometheus examples and the docs,
# in the usual places for the prefix (/usr for the package: /usr/bin, /usr/lib/systemd,
# /usr/share/man, /etc/fluxwatch).
include(GNUInstallDirs)

# Relative to the prefix (the package's /usr): /usr/lib/systemd/system, /usr/lib/sysusers.d.
set(FLUXWATCH_SYSTEMD_UNIT_DIR lib/systemd/system)
set(FLUXWATCH_SYSUSERS_DIR lib/sysusers.d)

# Each unit is configured twice: for the install (ExecStart = the installed binary) and for
# the tests (ExecStart = this build's binary), so `systemd-analyze verify` checks a unit
# whose command exists here.
set(fluxwatch_units fluxwatch-run@.service fluxwatch-feeds-refresh.service
                    fluxwatch-geo-update.service fluxwatch-score.service)
set(fluxwatch_timers fluxwatch-feeds-refresh.timer fluxwatch-geo-update.timer
                     fluxwatch-score.timer)
set(FLUXWATCH_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
foreach(unit ${fluxwatch_units})
  set(FLUXWATCH_UNIT_BINARY "${CMAKE_INSTALL_FULL_BINDIR}/fluxwatch")
  configure_file(deploy/systemd/${unit}.in ${CMAKE_BINARY_DIR}/deploy/systemd/${unit} @ONLY)
  set(FLUXWATCH_UNIT_BINARY "${CMAKE_BINARY_DIR}/app/fluxwatch")
  configure_file(deploy/systemd/${unit}.in ${CMAKE_BINARY_DIR}/deploy/systemd-test/${unit} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/deploy/systemd/${unit}
          DESTINATION ${FLUXWATCH_SYSTEMD_UNIT_DIR})
endforeach()
foreach(timer ${fluxwatch_timers})
  configure_file(deploy/systemd/${timer} ${CMAKE_BINARY_DIR}/deploy/systemd-test/${timer} COPYONLY)
  install(FILES deploy/systemd/${timer} DESTINATION ${FLUXWATCH_SYSTEMD_UNIT_DIR})
endforeach()
install(FILES deploy/systemd/fluxwatch.sysusers DESTINATION ${FLUXWATCH_SYSUSERS_DIR}
        RENAME fluxwatch.conf)

install(FILES deploy/config.example.yaml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/fluxwatch
        RENAME config.yaml)
install(FILES docs/fluxwatch.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES deploy/man/fluxwatch.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME fluxwatch)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
# The world outline compiled into `serve` (Natural Earth via world-atlas): its attribution.
install(FILES web/map/README.md web/map/LICENSE.world-atlas
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/world-map)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES deploy/config.example.yaml deploy/systemd/fluxwatch.cron
              deploy/prometheus/prometheus.yml deploy/prometheus/fluxwatch.rules.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- cpack -G DEB ---
set(CPACK_PACKAGE_NAME fluxwatch)
set(CPACK_PACKAGE_VENDOR "fluxwatch developers")
set(CPACK_PACKAGE_CONTACT "fluxwatch developers <fluxwatch@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "active-probing fast-flux DNS crawler and measurement service")
set(CPACK_PACKAGE_DESCRIPTION
    "fluxwatch resolves watchlists of suspect domains again and again through c-ares, enriches\n"
    "every answer with GeoIP/ASN data and stores every snapshot in PostgreSQL, to tell\n"
    "fast-flux hosting from CDNs and round-robin DNS.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/fluxwatch/fluxwatch")
# Shared-library dependencies from dpkg-shlibdeps (needs dpkg-dev); the server side and
# the tools fluxwatch runs itself (initdb/pg_ctl for its own cluster) are listed by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-node-exporter")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
                                      ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
