#include "ocr/module_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "ecoinfer/session.h"

namespace ecoinfer::ocr {
namespace {
namespace fs = std::filesystem;

// The module's path beside libecoinfer.so, when it is there; else the bare name.
std::string default_module_file(const char* file) {
  Dl_info library{};
  if (dladdr(reinterpret_cast<const void*>(&Session::load), &library) != 0 && library.dli_fname != nullptr) {
    const fs::path beside = fs::path(library.dli_fname).parent_path() / file;
    std::error_code ec;
    if (fs::exists(beside, ec)) return beside.string();
  }
  return file;
}

}  // namespace

Expected<void*> load_module_symbol(const ModuleSpec& spec) {
  const char* chosen = std::getenv(spec.env);
  const std::string file = chosen != nullptr && *chosen != '\0' ? chosen : default_module_file(spec.file);
  void* module = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (module == nullptr)
    return not_found(std::string("cannot load the ") + spec.description + " " + file + " (" + dlerror() +
                     "): build it (cmake --build build --target " + spec.build_target +
                     "), install it beside libecoinfer.so (cmake --install), or set " + spec.env + " to its path");
  void* symbol = dlsym(module, spec.symbol);
  if (symbol == nullptr)
    return not_found(std::string("the ") + spec.description + " " + file + " has no " + spec.symbol +
                               ": it is from another ecoinfer version; rebuild or reinstall it");
  return symbol;
}

}  // namespace ecoinfer::ocr
