#include "report/job_files.h"

#include "core/outcome.h"
#include "report/junit.h"
#include "report/kcidb.h"
#include "report/ktap_export.h"
#include "report/summary.h"
#include "util/files.h"

namespace kh {

void write_job_files(const std::string& job_name, const std::vector<RunResult>& results,
                     const std::filesystem::path& out_dir) {
  std::vector<Outcome> outcomes;
  for (const auto& r : results) outcomes.push_back(r.outcome);
  write_file(out_dir / "summary.json",
             summary_json(job_name, results, exit_code_for(outcomes)).dump(2) + "\n");
  write_file(out_dir / "junit.xml", junit_xml(job_name, results));
  write_file(out_dir / "kcidb.json", kcidb_json(job_name, results, out_dir).dump(2) + "\n");
  write_file(out_dir / "results.ktap", ktap_export(job_name, results));
}

}  // namespace kh
