# build_info BUILD_DIR: one line saying how the binaries being measured were
# built (plain, or profile-guided with which training run, and with LTO or not),
# so a figure can be read against the build that made it.
build_info() {
  local cache="$1/CMakeCache.txt" profile lto
  [[ -f "$cache" ]] || { echo "build: $1 (not a CMake build directory)"; return 0; }
  profile=$(sed -n 's/^SENTRAIL_PGO_USE:[A-Z]*=//p' "$cache")
  lto=$(sed -n 's/^SENTRAIL_LTO:[A-Z]*=//p' "$cache")
  if [[ -n "$profile" && -f "$profile/trained" ]]; then
    echo "build: profile-guided (trained on revision $(cat "$profile/trained")), LTO ${lto:-OFF}"
  else
    echo "build: plain (no profile), LTO ${lto:-OFF}"
  fi
}
