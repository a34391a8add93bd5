# silica_layer(NAME DEPS...): a static library from every .cc in the current folder (not in
# subfolders), public include root src/, linked to exactly the layers it names.
function(silica_layer name)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_library(silica_${name} STATIC ${_srcs})
  set_target_properties(silica_${name} PROPERTIES LINKER_LANGUAGE CXX)
  target_include_directories(silica_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(silica_${name} PUBLIC ${ARGN})
endfunction()
