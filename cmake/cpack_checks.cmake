# Read by cpack (CPACK_PROJECT_CONFIG_FILE): the Debian package needs a tree configured with
# CMAKE_INSTALL_PREFIX=/usr, or its env file would land in /usr/local/etc while the unit
# reads /etc/natsync/natsync.env.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_NATSYNC_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(this one: ${CPACK_NATSYNC_INSTALL_PREFIX})")
endif()
