// The files of a results folder that cover the whole job, beside the runs'
// own result.json: summary.json, junit.xml, kcidb.json and results.ktap.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

// Writes all four for the runs so far, each whole (write-to-temp + rename),
// so a job cut short by Ctrl-C or an error still leaves a consistent set.
void write_job_files(const std::string& job_name, const std::vector<RunResult>& results,
                     const std::filesystem::path& out_dir);

}  // namespace kh
