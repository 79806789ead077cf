// kharness compare, reading result folders: every result.json under each
// folder, with kernel labels made unique across folders.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

// The runs under each folder (every result.json, any depth), in folder
// order then path order. A kernel label found in more than one folder gets
// the folder's name in front ("before/linux-6.1"), so two runs of the same
// job on different trees compare as two kernels. Throws InputError for a
// folder that cannot be read or holds no result.json, or a result.json that
// does not parse.
std::vector<RunResult> read_result_folders(const std::vector<std::filesystem::path>& dirs);

}  // namespace kh
