# Writes OUTPUT: a C++ file holding every mapping YAML in DIR as a string literal.
file(GLOB files "${DIR}/*.yaml")
list(SORT files)
set(body "")
foreach(f ${files})
  file(READ ${f} text)
  get_filename_component(name ${f} NAME)
  string(APPEND body "  {\"${name}\", R\"sentrail_yaml(${text})sentrail_yaml\"},\n")
endforeach()
file(WRITE ${OUTPUT}.tmp "// Generated from ingest/mappings by embed_mappings.cmake. Do not edit.
#include \"ingest/default_mappings.h\"
#include <array>
namespace sentrail::ingest {
namespace {
const std::pair<std::string_view, std::string_view> files[] = {
${body}};
}
std::span<const std::pair<std::string_view, std::string_view>> default_mapping_files() { return files; }
}  // namespace sentrail::ingest
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
