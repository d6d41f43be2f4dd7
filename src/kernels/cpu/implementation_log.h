// Which oneDNN implementation each created primitive got ("brg:avx512_core_vnni",
// "jit:avx512_core_bf16", "ref:any"...), process-wide, so `ecoinfer bench` and
// `info` can show a silent fallback to a slow path. Read through the public
// ecoinfer::onednn_implementations_used() (session.h).
//
//   onednn::note_implementation("convolution", pd.impl_info_str());
#pragma once

#include <string>

namespace ecoinfer::kernels::onednn {

// Thread-safe; called once per primitive created (not per run).
void note_implementation(const std::string& kind, const std::string& implementation);

}  // namespace ecoinfer::kernels::onednn
