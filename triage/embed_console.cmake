# Writes OUTPUT: a C++ file holding every file in DIR (the web console) as bytes.
file(GLOB files LIST_DIRECTORIES false "${DIR}/*")
list(SORT files)
set(arrays "")
set(table "")
set(i 0)
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "const unsigned char file_${i}[] = {${bytes}0};\n")
  string(APPEND table "  {\"${name}\", std::string_view(reinterpret_cast<const char*>(file_${i}), ${size})},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUTPUT}.tmp "// Generated from triage/console by embed_console.cmake. Do not edit.
#include \"triage/console_files.h\"
namespace sentrail::triage {
namespace {
${arrays}
const console_file files[] = {
${table}  {{}, {}}};
}
std::span<const console_file> console_files() { return std::span<const console_file>(files, ${i}); }
}  // namespace sentrail::triage
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
