# Embeds the web UI (webui/dist/*) into a target as a generated .cc of byte arrays.
#
# Two modes in one file:
# - included: silica_embed_webui(TARGET) adds a build step that bundles webui/ with node (when
#   node and webui/node_modules are there) and compiles the generated table into TARGET;
# - script (cmake -P, run by that step): bundles, then writes the .cc only when an asset changed,
#   so an unchanged UI recompiles nothing.
# Without node (or without `npm ci` in webui/) the build still succeeds: /ui/ then serves a page
# that says how to build the UI. The build never touches the network.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  function(silica_embed_webui target)
    find_program(SILICA_NODE node)
    set(_webui ${PROJECT_SOURCE_DIR}/webui)
    set(_out ${CMAKE_CURRENT_BINARY_DIR}/webui_assets_data.cc)
    if(SILICA_NODE AND EXISTS ${_webui}/node_modules/esbuild)
      message(STATUS "web UI: bundled with ${SILICA_NODE} at build time")
    else()
      message(STATUS "web UI: node or webui/node_modules missing (run scripts/setup.sh); "
                     "/ui/ will say how to build it")
    endif()
    # A target (not a command with OUTPUT) so the bundle step runs on every build: its inputs
    # include node_modules, which may appear after configure. BYPRODUCTS + restat keep it cheap.
    add_custom_target(${target}_webui_assets
      COMMAND ${CMAKE_COMMAND} -DWEBUI_DIR=${_webui} -DOUT=${_out} "-DNODE=${SILICA_NODE}"
              -P ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
      BYPRODUCTS ${_out}
      COMMENT "Bundling and embedding the web UI"
      VERBATIM)
    add_dependencies(${target} ${target}_webui_assets)
    target_sources(${target} PRIVATE ${_out})
  endfunction()
  return()
endif()

# ---- script mode: WEBUI_DIR, OUT, NODE (may be empty or NODE-NOTFOUND) ----

function(webui_content_type file out_var)
  get_filename_component(ext ${file} LAST_EXT)
  string(TOLOWER "${ext}" ext)
  set(types
      ".html=text/html\; charset=utf-8" ".js=text/javascript\; charset=utf-8"
      ".mjs=text/javascript\; charset=utf-8" ".css=text/css\; charset=utf-8"
      ".json=application/json\; charset=utf-8" ".svg=image/svg+xml" ".png=image/png"
      ".ico=image/x-icon" ".txt=text/plain\; charset=utf-8" ".webmanifest=application/manifest+json")
  foreach(pair IN LISTS types)
    string(FIND "${pair}" "=" eq)
    string(SUBSTRING "${pair}" 0 ${eq} key)
    if(key STREQUAL ext)
      math(EXPR start "${eq} + 1")
      string(SUBSTRING "${pair}" ${start} -1 value)
      set(${out_var} "${value}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out_var} "application/octet-stream" PARENT_SCOPE)
endfunction()

set(dist ${WEBUI_DIR}/dist)
if(NODE AND EXISTS ${WEBUI_DIR}/node_modules/esbuild)
  execute_process(COMMAND ${NODE} ${WEBUI_DIR}/build.mjs WORKING_DIRECTORY ${WEBUI_DIR}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "web UI: `node webui/build.mjs` failed (exit ${rc})")
  endif()
endif()

set(files)
if(EXISTS ${dist}/index.html)
  file(GLOB_RECURSE files RELATIVE ${dist} ${dist}/*)
  list(SORT files)
  set(built true)
  # Nothing newer than the generated file: keep it (and its object file) as is.
  if(EXISTS ${OUT})
    file(STRINGS ${OUT} marker LIMIT_COUNT 2)
    set(stale FALSE)
    if(NOT marker MATCHES "built=true")
      set(stale TRUE)
    endif()
    foreach(f IN LISTS files)
      if(${dist}/${f} IS_NEWER_THAN ${OUT})
        set(stale TRUE)
      endif()
    endforeach()
    if(NOT stale)
      return()
    endif()
  endif()
else()
  set(built false)
  get_filename_component(out_dir ${OUT} DIRECTORY)
  set(fallback_dir ${out_dir}/webui_fallback)
  file(WRITE ${fallback_dir}/index.html
       "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>silica: web UI not built</title>"
       "<body>"
       "<h1>The web UI was not built into this binary</h1>"
       "<p>Building it needs node (20 or newer) and the UI's pinned npm packages, which were "
       "missing when silica was built. Run <code>scripts/setup.sh</code> (or "
       "<code>cd webui &amp;&amp; npm ci</code>), then rebuild silica; <code>silica serve</code> "
       "then serves the chat page here. The API routes work without it.</p></body></html>\n")
  set(dist ${fallback_dir})
  set(files index.html)
endif()

set(body "")
set(table "")
set(i 0)
foreach(f IN LISTS files)
  file(READ ${dist}/${f} hex HEX)
  string(LENGTH "${hex}" n_hex)
  math(EXPR n_bytes "${n_hex} / 2")
  # 32 bytes a line keeps the generated file readable and the compiler's lines short.
  string(REGEX REPLACE "(................................................................)"
                       "\\1\n" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  webui_content_type(${f} type)
  string(APPEND body "const unsigned char kAsset${i}[] = {\n${hex}0};  // ${f}\n")
  string(APPEND table "    {\"${f}\", \"${type}\", kAsset${i}, ${n_bytes}},\n")
  math(EXPR i "${i} + 1")
endforeach()

set(text "// Generated by cmake/embed_assets.cmake from webui/dist: do not edit. built=${built}\n")
string(APPEND text "#include \"server/webui_assets.h\"\n\nnamespace silica {\nnamespace {\n\n")
string(APPEND text "// Each array ends with one extra 0 (not counted in its size).\n${body}\n")
string(APPEND text "}  // namespace\n\nconst WebAsset kWebAssets[] = {\n${table}};\n")
string(APPEND text "const size_t kWebAssetCount = ${i};\nconst bool kWebUiBuilt = ${built};\n\n")
string(APPEND text "}  // namespace silica\n")
file(WRITE ${OUT}.tmp "${text}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
